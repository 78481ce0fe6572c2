/**
 * The Node versions the project promises hold for every locked package: `engines.node` (the npm
 * package) for pagescope's own dependencies, `devEngines.runtime` (a clone's `npm ci`) for the
 * whole lock, so `npm ci` on a promised Node prints no EBADENGINE line; and the README says the
 * same versions. The range reading is checked first on the forms the lock uses.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { promisedVersions, refusals, satisfies, type Version } from './node-engines.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const read = (f: string): string => fs.readFileSync(path.join(ROOT, f), 'utf8');
const v = (s: string): Version => s.split('.').map(Number) as Version;

describe('Node ranges', () => {
  it.each([
    ['>=20.19', '20.19.0', true],
    ['>=20.19', '20.18.9', false],
    ['>= 22.12.0', '22.11.0', false],
    ['>= 22.12.0', '24.0.0', true],
    ['^20.19.0 || >=22.12.0', '22.5.0', false],
    ['^20.19.0 || >=22.12.0', '21.0.0', false],
    ['^20.19.0 || >=22.12.0', '20.20.2', true],
    ['^20.19.0 || ^22.13.0 || >=24', '22.12.0', false],
    ['^20.0.0 || ^22.0.0 || >=24.0.0', '23.1.0', false],
    ['20 || >=22', '20.0.0', true],
    ['20 || >=22', '21.9.9', false],
    ['>=16 || 14 >=14.17', '14.16.0', false],
    ['>=16 || 14 >=14.17', '14.17.0', true],
    ['>=6 <7 || >=8', '7.1.0', false],
    ['6.* || 8.* || >= 10.*', '9.0.0', false],
    ['6.* || 8.* || >= 10.*', '10.0.0', true],
    ['~1.2', '1.3.0', false],
    ['<=20', '20.9.0', true],
    ['<=20', '21.0.0', false],
    ['>20', '20.9.0', false],
    ['*', '0.1.0', true],
  ])('%s holds %s: %s', (range, version, holds) => {
    expect(satisfies(v(version), range)).toBe(holds);
  });

  it('throws on a range it cannot read, naming it', () => {
    expect(() => satisfies(v('20.0.0'), '>=20.0.0-rc.1')).toThrow(/>=20.0.0-rc.1/);
    expect(() => satisfies(v('20.0.0'), '1.2 - 2.3')).toThrow(/1.2 - 2.3/);
  });

  it('a promise is checked at its lowest versions and the LTS lines it takes in', () => {
    expect(promisedVersions('>=20.19').map((x) => x.join('.'))).toEqual([
      '20.19.0',
      '22.0.0',
      '24.0.0',
      '26.0.0',
    ]);
    expect(promisedVersions('^22.13.0 || >=24').map((x) => x.join('.'))).toEqual([
      '22.13.0',
      '24.0.0',
      '26.0.0',
    ]);
  });

  it('without devEngines, engines.node covers the whole lock', () => {
    const lock = {
      packages: {
        '': {},
        'node_modules/koffi': { version: '3.3.4', engines: { node: '>=16' } },
        'node_modules/electron': { version: '45.5.0', dev: true, engines: { node: '>= 22.12.0' } },
      },
    };
    expect(refusals({ engines: { node: '>=20.19' } }, lock)).toEqual([
      {
        package: 'electron@45.5.0',
        engines: '>= 22.12.0',
        refuses: ['20.19.0', '22.0.0'],
        promise: 'devEngines',
      },
    ]);
    const split = { engines: { node: '>=20.19' }, devEngines: { runtime: { version: '>=22.12' } } };
    expect(refusals(split, lock)).toEqual([]);
    // A dependency of the package itself answers to engines.node too.
    const runtimeNeeds22 = {
      packages: { 'node_modules/koffi': { version: '9.0.0', engines: { node: '>=22' } } },
    };
    expect(refusals(split, runtimeNeeds22)).toEqual([
      { package: 'koffi@9.0.0', engines: '>=22', refuses: ['20.19.0'], promise: 'engines' },
    ]);
  });
});

describe('package-lock.json against the promised Node versions', () => {
  const pkg = JSON.parse(read('package.json')) as {
    engines: { node: string };
    devEngines?: { runtime?: { name?: string; version?: string; onFail?: string } };
  };
  const lock = JSON.parse(read('package-lock.json')) as Parameters<typeof refusals>[1];

  it('no locked package refuses a promised version', () => {
    expect(refusals(pkg, lock)).toEqual([]);
  });

  it("the lock holds every locked package's optional packages (every platform's)", () => {
    const names = new Set(
      Object.keys(lock.packages).map((k) => k.replace(/^.*node_modules\//, '')),
    );
    const missing = Object.entries(lock.packages).flatMap(([where, e]) =>
      Object.keys((e as { optionalDependencies?: object }).optionalDependencies ?? {})
        .filter((d) => !names.has(d))
        .map((d) => `${where} -> ${d}`),
    );
    expect(missing).toEqual([]);
    expect(names).toContain('@koromix/koffi-win32-x64');
  });

  it('devEngines names node and never stops npm (the CLI runs on the older Node too)', () => {
    expect(pkg.devEngines?.runtime?.name).toBe('node');
    // "warn" would print on every `npx pagescope` in a clone on Node 20; "error" would stop it.
    expect(pkg.devEngines?.runtime?.onFail).toBe('ignore');
  });

  it('the README states both promises', () => {
    const readme = read('README.md');
    const first = (range: string) => promisedVersions(range)[0].slice(0, 2).join('.');
    expect(readme).toContain(`Node.js ${first(pkg.engines.node)}+ to run pagescope`);
    expect(readme).toContain(`Node.js ${first(pkg.devEngines!.runtime!.version!)}+`);
  });
});
