/**
 * The README and docs/ are read from a clone: every file they point to must be in the clone.
 * (The README once pointed at ../shared/DESIGN.md, a file outside the repository.) And they, the
 * CLI's help and the sources name recordings with one extension, .pgsrec (the README once said
 * .rec while the UI said .pgsrec).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OLD_RECORDING_EXTENSION, RECORDING_EXTENSION } from '../protocol/constants.ts';
import { buildProgram } from './main.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Markdown link targets and `backticked` paths ending in .md, relative to the file. */
function pointers(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const links = [...text.matchAll(/\]\(([^)\s#]+)(?:#[^)]*)?\)/g)].map((m) => m[1]);
  const named = [...text.matchAll(/`([^`\s]+\.md)`/g)].map((m) => m[1]);
  return [...links, ...named].filter((p) => !/^[a-z]+:/.test(p));
}

describe('docs point inside the repository', () => {
  it.each(['README.md', 'docs/DESIGN.md'])('%s', (file) => {
    const dir = path.dirname(path.join(ROOT, file));
    const outside: string[] = [];
    const missing: string[] = [];
    for (const p of pointers(file)) {
      const abs = path.resolve(dir, p);
      if (!abs.startsWith(ROOT + path.sep)) outside.push(p);
      else if (!fs.existsSync(abs)) missing.push(p);
    }
    expect(outside).toEqual([]);
    expect(missing).toEqual([]);
  });

  it('the README links the design document', () => {
    expect(pointers('README.md')).toContain('docs/DESIGN.md');
  });

  it("the README's links to its own sections name headings it has", () => {
    const text = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    // GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens.
    const anchors = new Set(
      [...text.matchAll(/^#+ (.+)$/gm)].map((m) =>
        m[1]
          .toLowerCase()
          .replace(/[^\w\- ]/g, '')
          .replace(/ /g, '-'),
      ),
    );
    const links = [...text.matchAll(/\]\(#([^)\s]+)\)/g)].map((m) => m[1]);
    expect(links.length).toBeGreaterThan(0);
    expect(links.filter((a) => !anchors.has(a))).toEqual([]);
  });
});

/**
 * File names with the old extension in `text` ("demo.rec", with its line number). In code only a
 * name that ends a string literal counts (`'x.rec'`, `${name}.rec\``), not a property (`r.rec`).
 */
function oldNames(text: string, code = false): string[] {
  const name = code ? /[\w${}/.-]*[\w$}-]\.rec(?=['"`])/g : /[\w${}/.-]*[\w$}-]\.rec(?![\w-])/g;
  const found: string[] = [];
  text.split('\n').forEach((line, i) => {
    for (const m of line.matchAll(name)) found.push(`${i + 1}: ${m[0]}`);
  });
  return found;
}

const SELF = path.relative(ROOT, import.meta.filename);

describe('recordings have one file extension', () => {
  it('is .pgsrec, and .rec only as the older name', () => {
    expect(RECORDING_EXTENSION).toBe('.pgsrec');
    expect(OLD_RECORDING_EXTENSION).toBe('.rec');
    const sample = '-o demo.rec\nreport /tmp/app.rec --json\nx.record a.rec.';
    expect(oldNames(sample)).toEqual(['1: demo.rec', '2: /tmp/app.rec', '3: a.rec']);
    const code = "join(tmp, 'x.rec');\nconst f = `${name}.rec`;\nconst n = r.rec;";
    expect(oldNames(code, true)).toEqual(['1: x.rec', '2: ${name}.rec']);
  });

  it('the README, docs/ and every tracked source file name recordings NAME.pgsrec', () => {
    // Every tracked text file a user or a developer reads an example in (but this one).
    const files = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' })
      .split('\0')
      .filter((f) => /\.(md|ts|tsx|mjs|js|sh)$/.test(f) || f.startsWith('.ci/'))
      .filter((f) => f !== SELF && fs.existsSync(path.join(ROOT, f)));
    expect(files).toContain('README.md');
    expect(files).toContain('core/record/record.test.ts');
    const bad = files.flatMap((f) =>
      oldNames(fs.readFileSync(path.join(ROOT, f), 'utf8'), !f.endsWith('.md')).map(
        (n) => `${f}:${n}`,
      ),
    );
    expect(bad).toEqual([]);
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    expect(readme).toMatch(/-o \S+\.pgsrec/);
  });

  it("the CLI's help names recordings NAME.pgsrec", () => {
    const program = buildProgram();
    for (const name of ['record', 'report', 'export', 'serve']) {
      const help = program.commands.find((c) => c.name() === name)!.helpInformation();
      expect(help, name).toContain(RECORDING_EXTENSION);
      expect(oldNames(help), name).toEqual([]);
    }
  });
});
