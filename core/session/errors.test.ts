/**
 * Error codes end to end: what errorInfo makes of each kind of failure, and a scan of the
 * sources (TypeScript's parser) proving that every code the engine and the hosts can produce is
 * in the protocol's list (core/protocol/errors.ts) and every code in the list is produced
 * somewhere: the list is exactly what a UI can meet.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { KernelError, PagescopeError, type CliErrorCode } from '../kernel/errors.ts';
import { ERROR_CODE_LIST, isErrorCode } from '../protocol/errors.ts';
import { errorInfo } from './errors.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI_CODES: CliErrorCode[] = ['bad-pid', 'bad-seconds', 'bad-port', 'bad-host', 'bad-input'];

describe('errorInfo', () => {
  it('keeps a PagescopeError code and its sentence', () => {
    expect(errorInfo(new PagescopeError('Gone.', 'exited'))).toEqual({
      code: 'exited',
      message: 'Gone.',
    });
  });

  it('maps kernel errnos to codes a UI knows, and keeps the errno in the sentence', () => {
    const e = os.constants.errno;
    const cases: Array<[number, string]> = [
      [e.ESRCH, 'no-process'],
      [e.ENOENT, 'no-process'],
      [e.EPERM, 'permission'],
      [e.EACCES, 'permission'],
      [e.ENOTTY, 'unsupported'],
      [e.ENOSYS, 'unsupported'],
      [e.EBUSY, 'kernel'],
      [e.EINVAL, 'kernel'],
      [e.ENOMEM, 'kernel'],
    ];
    for (const [errno, code] of cases) {
      const info = errorInfo(new KernelError('PAGEMAP_SCAN', errno, { pid: 7 }));
      expect(info.code, String(errno)).toBe(code);
      expect(isErrorCode(info.code)).toBe(true);
      expect(info.message.length).toBeGreaterThan(10);
    }
    expect(errorInfo(new KernelError('UFFDIO_REGISTER', e.EBUSY)).message).toMatch(/busy/);
  });

  it("never lets a CLI-only code or a foreign error's code through", () => {
    expect(errorInfo(new PagescopeError('Bad port.', 'bad-port')).code).toBe('error');
    expect(errorInfo(Object.assign(new Error('x'), { code: 'EPIPE' }))).toEqual({
      code: 'error',
      message: 'x',
    });
    expect(errorInfo('a string').code).toBe('error');
  });
});

/** The production TypeScript files of the engine and both hosts (tests and the renderer aside). */
function sourceFiles(): string[] {
  const out = execFileSync('git', ['ls-files', 'core', 'electron'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return out
    .split('\n')
    .filter((f) => /\.ts$/.test(f) && !/\.test\.ts$|\.d\.ts$/.test(f))
    .filter((f) => !f.startsWith('core/testing/') && f !== 'core/protocol/errors.ts')
    .filter((f) => fs.existsSync(path.join(ROOT, f)));
}

interface Found {
  code: string;
  where: string;
}

/**
 * String literals in code positions: the second argument of `new PagescopeError(...)` (or
 * `new SessionError(...)`), `code: '...'` in an object literal that also has a `message`, and
 * what errorCode() in core/kernel/errors.ts returns.
 */
function producedCodes(): Found[] {
  const found: Found[] = [];
  for (const file of sourceFiles()) {
    const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const at = (n: ts.Node) => `${file}:${sf.getLineAndCharacterOfPosition(n.getStart()).line + 1}`;
    const visit = (n: ts.Node, inErrorCode: boolean): void => {
      if (
        ts.isNewExpression(n) &&
        ts.isIdentifier(n.expression) &&
        /^(PagescopeError|SessionError)$/.test(n.expression.text)
      ) {
        const arg = n.arguments?.[1];
        if (arg && ts.isStringLiteralLike(arg)) found.push({ code: arg.text, where: at(arg) });
      }
      if (
        ts.isObjectLiteralExpression(n) &&
        file !== 'core/protocol/messages.ts' &&
        file !== 'core/protocol/shapes.ts'
      ) {
        const props = n.properties.filter(ts.isPropertyAssignment);
        const code = props.find((p) => p.name.getText(sf) === 'code');
        if (
          code &&
          ts.isStringLiteralLike(code.initializer) &&
          props.some((p) => p.name.getText(sf) === 'message')
        )
          found.push({ code: code.initializer.text, where: at(code) });
      }
      if (inErrorCode && ts.isReturnStatement(n) && n.expression) {
        const e = n.expression;
        const literals = ts.isConditionalExpression(e) ? [e.whenTrue, e.whenFalse] : [e];
        for (const l of literals)
          if (ts.isStringLiteralLike(l)) found.push({ code: l.text, where: at(l) });
      }
      const entering = inErrorCode || (ts.isFunctionDeclaration(n) && n.name?.text === 'errorCode');
      ts.forEachChild(n, (c) => visit(c, entering));
    };
    visit(sf, false);
  }
  return found;
}

describe('error codes in the sources', () => {
  const found = producedCodes();

  it('finds the codes (the scan itself works)', () => {
    const codes = new Set(found.map((f) => f.code));
    for (const c of ['no-process', 'busy', 'forbidden', 'closed', 'unsupported', 'bad-port'])
      expect(codes.has(c), c).toBe(true);
  });

  it('produces only listed codes outside the command line, and CLI-only codes only there', () => {
    const bad = found.filter(
      (f) =>
        !isErrorCode(f.code) &&
        // The exporter is a command (`pagescope exporter`): its codes are the command line's.
        !(
          (f.where.startsWith('core/cli/') || f.where.startsWith('core/exporter/')) &&
          (CLI_CODES as string[]).includes(f.code)
        ),
    );
    expect(bad).toEqual([]);
  });

  it('lists no code that nothing produces', () => {
    const produced = new Set(found.map((f) => f.code));
    // 'error' is also PagescopeError's default code.
    expect(ERROR_CODE_LIST.filter((c) => !produced.has(c))).toEqual([]);
  });
});
