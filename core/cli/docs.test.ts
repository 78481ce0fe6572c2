/**
 * The README and docs/ are read from a clone: every file they point to must be in the clone.
 * (The README once pointed at ../shared/DESIGN.md, a file outside the repository.)
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

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
});
