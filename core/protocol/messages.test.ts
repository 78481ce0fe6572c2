/**
 * The protocol's types are inferred from its schemas: check that the inferred types say what the
 * code relies on (typed arrays stay typed arrays, literal unions stay unions), and that the
 * schemas accept what the host really sends and refuse what it must not.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { RecordingMethod } from './recording.ts';
import { frameSchema, type Frame } from './frame.ts';
import {
  hostEventSchema,
  methods,
  responseSchema,
  type HostEvent,
  type Method,
  type Params,
  type Result,
  type VmaInfo,
} from './messages.ts';
import { HISTOGRAM_WIDTH } from './page-bits.ts';
import { WHO_EVENT_WRITERS } from './who.ts';
import { decodeFrame, encodeFrame } from './wire.ts';

const frame = (): Frame => ({
  sessionId: 1,
  tick: 2,
  vmaVersion: 1,
  totalPages: 10,
  counters: {
    tick: 2,
    t: 200,
    present: 4,
    swapped: 0,
    written: 1,
    watched: 2,
    scanMs: 0.5,
    lagMs: 0,
    skipped: 0,
    estOverheadPct: 0,
    estOverheadLowPct: 0,
    estOverheadHighPct: 0,
    sampleFraction: 1,
    writtenEst: 1,
    writtenErr: 0,
    intervalMs: 100,
  },
  overview: { buckets: 1, pagesPerBucket: 10, histogram: new Uint32Array(HISTOGRAM_WIDTH) },
  window: { startIndex: 0, endIndex: 2, bits: Uint16Array.of(1, 3) },
  vmaCounts: Uint32Array.of(4, 0, 1),
  written: Float64Array.of(0, 1),
});

describe('inferred types', () => {
  it('keep typed arrays typed', () => {
    expectTypeOf<Frame['written']>().toEqualTypeOf<Float64Array>();
    expectTypeOf<Frame['overview']['histogram']>().toEqualTypeOf<Uint32Array>();
    expectTypeOf<NonNullable<Frame['window']>['bits']>().toEqualTypeOf<Uint16Array>();
  });

  it('keep unions and optional fields', () => {
    expectTypeOf<VmaInfo['watched']>().toEqualTypeOf<'no' | 'yes' | 'partial' | 'refused'>();
    expectTypeOf<VmaInfo['label']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<HostEvent['event']>().toEqualTypeOf<
      'sessionEnded' | 'vmas' | 'warning' | 'who' | 'groupTick' | 'groupWatchEnded'
    >();
    expectTypeOf<Method>().toEqualTypeOf<
      | 'hello'
      | 'listProcesses'
      | 'attach'
      | 'launch'
      | 'launchDemo'
      | 'detach'
      | 'setView'
      | 'setInterval'
      | 'setMaxOverhead'
      | 'pause'
      | 'resume'
      | 'watch'
      | 'unwatch'
      | 'resetWritten'
      | 'getHistory'
      | RecordingMethod
      | 'setWho'
      | 'listCgroups'
      | 'scanGroup'
      | 'watchGroup'
      | 'stopGroupWatch'
    >();
    expectTypeOf<Params<'attach'>>().toEqualTypeOf<{ pid: number; force?: boolean | undefined }>();
    expectTypeOf<Result<'attach'>['launched']>().toEqualTypeOf<boolean>();
  });
});

describe('schemas', () => {
  it('accept a frame as the wire decodes it, and refuse plain arrays where typed ones belong', () => {
    expect(frameSchema.safeParse(decodeFrame(encodeFrame(frame()))).success).toBe(true);
    expect(frameSchema.safeParse({ ...frame(), written: [0, 1] }).success).toBe(false);
    expect(
      frameSchema.safeParse({ ...frame(), window: { startIndex: 0, endIndex: 2, bits: [1, 3] } })
        .success,
    ).toBe(false);
    expect(frameSchema.safeParse({ ...frame(), window: null }).success).toBe(true);
  });

  it('check results and events the way a host sends them', () => {
    const ok = responseSchema('watch').safeParse({ id: 3, ok: true, result: { vmas: [] } });
    expect(ok.success).toBe(true);
    const wrong = responseSchema('watch').safeParse({ id: 3, ok: true, result: {} });
    expect(wrong.success).toBe(false);
    const failed = responseSchema('attach').safeParse({
      id: -1,
      ok: false,
      error: { code: 'bad-request', message: 'Malformed.' },
    });
    expect(failed.success).toBe(true);
    expect(
      hostEventSchema.safeParse({ event: 'sessionEnded', sessionId: 1, reason: 'Detached.' })
        .success,
    ).toBe(true);
    expect(hostEventSchema.safeParse({ event: 'other', sessionId: 1 }).success).toBe(false);
  });

  it('bound who events and setWho requests', () => {
    const who = { period: 1, estimated: false, attributedPages: 3, lost: 0, vmas: [] };
    const writer = {
      fn: 'f',
      module: 'm',
      thread: 't',
      tid: 1,
      pages: 3,
      share: 1,
      partial: false,
    };
    const event = (writers: unknown[]) => ({
      event: 'who',
      sessionId: 1,
      tick: 2,
      who: { ...who, writers },
    });
    expect(hostEventSchema.safeParse(event([writer])).success).toBe(true);
    expect(
      hostEventSchema.safeParse(event(Array(WHO_EVENT_WRITERS + 1).fill(writer))).success,
    ).toBe(false);
    expect(hostEventSchema.safeParse(event([{ ...writer, share: 1.5 }])).success).toBe(false);
    expect(methods.setWho.params.safeParse({ sessionId: 1, period: null }).success).toBe(true);
    expect(methods.setWho.params.safeParse({ sessionId: 1, period: 0 }).success).toBe(false);
    expect(methods.setWho.params.safeParse({ sessionId: 1, period: 1.5 }).success).toBe(false);
  });

  it('take a group as a tree, a cgroup or pids, and refuse anything else', () => {
    const ok = (group: unknown) => methods.scanGroup.params.safeParse({ group }).success;
    expect(ok({ kind: 'tree', root: 12 })).toBe(true);
    expect(ok({ kind: 'cgroup', path: '/sys/fs/cgroup/user.slice' })).toBe(true);
    expect(ok({ kind: 'pids', pids: [1, 2] })).toBe(true);
    expect(ok({ kind: 'tree', root: 0 })).toBe(false);
    expect(ok({ kind: 'tree', root: '12' })).toBe(false);
    expect(ok({ kind: 'cgroup', path: '' })).toBe(false);
    expect(ok({ kind: 'cgroup', path: '/sys/fs/cgroup/a\0b' })).toBe(false);
    expect(ok({ kind: 'pids', pids: [] })).toBe(false);
    expect(ok({ kind: 'session', id: 1 })).toBe(false);
    expect(ok({ kind: 'tree', root: 12, extra: 1 })).toBe(false);
  });

  it('define every method with params and a result', () => {
    for (const [name, m] of Object.entries(methods)) {
      expect(typeof m.params.safeParse, name).toBe('function');
      expect(typeof m.result.safeParse, name).toBe('function');
    }
  });
});
