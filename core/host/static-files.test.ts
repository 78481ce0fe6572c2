import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { contentTypeOf, HTML_TYPE, missingRendererPage, rendererFile } from './static-files.ts';

describe('serving the built renderer', () => {
  const dir = '/opt/pagescope/dist/renderer';

  it('maps URL paths to files inside the folder, / to index.html, and nothing outside it', () => {
    expect(rendererFile(dir, '/')).toEqual({
      rel: 'index.html',
      file: path.join(dir, 'index.html'),
    });
    expect(rendererFile(dir, '/assets/app.js')).toEqual({
      rel: 'assets/app.js',
      file: path.join(dir, 'assets/app.js'),
    });
    expect(rendererFile(dir, '/../../etc/passwd')).toBeNull();
    expect(rendererFile(dir, '/../renderer-evil/x.js')).toBeNull();
    expect(rendererFile(dir, '//etc/passwd')).toBeNull();
    expect(rendererFile(dir + '/', '/a.css')?.file).toBe(path.join(dir, 'a.css'));
  });

  it('gives each renderer file its content type, and an unknown one none in particular', () => {
    expect(contentTypeOf('/x/index.html')).toBe(HTML_TYPE);
    expect(HTML_TYPE).toBe('text/html; charset=utf-8');
    expect(contentTypeOf('app.js')).toBe('text/javascript; charset=utf-8');
    expect(contentTypeOf('a.css')).toBe('text/css; charset=utf-8');
    expect(contentTypeOf('font.woff2')).toBe('font/woff2');
    expect(contentTypeOf('data.bin')).toBe('application/octet-stream');
  });

  it('says how to build the UI in place of it, and what to do then', () => {
    expect(missingRendererPage('reload this page')).toMatch(
      /npm run build:renderer<\/code> in the\npagescope folder, then reload this page\./,
    );
    expect(missingRendererPage('restart pagescope')).toMatch(/then restart pagescope\./);
  });
});
