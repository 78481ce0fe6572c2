/**
 * Serving the built renderer (dist/renderer), as both hosts do: the web host over HTTP and
 * Electron's main process through its app:// scheme. What they share is here: which file a URL
 * path names (never one outside the folder), its content type, and the page shown in place of
 * the UI while it has not been built.
 */
import path from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

export const HTML_TYPE = CONTENT_TYPES['.html'];

/**
 * The renderer's Content-Security-Policy, the same in both hosts: only our own scripts, styles
 * (inline style attributes are React's), images and connections; no plugins, forms, framing or
 * <base>. The WebSocket at /ws is same-origin, so 'self' covers it.
 */
export const RENDERER_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The content type of a renderer file, by its extension. */
export function contentTypeOf(file: string): string {
  return CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream';
}

/**
 * The file a (decoded) URL path names in `rendererDir`, `/` being index.html; null when the path
 * would lead outside the folder.
 */
export function rendererFile(
  rendererDir: string,
  pathname: string,
): { rel: string; file: string } | null {
  const rel = pathname === '/' ? 'index.html' : pathname.slice(1);
  const file = path.resolve(rendererDir, rel);
  return file.startsWith(path.resolve(rendererDir) + path.sep) ? { rel, file } : null;
}

/** The page answered for index.html while the renderer is not built; `then`: what to do after. */
export function missingRendererPage(then: 'reload this page' | 'restart pagescope'): string {
  return `<!doctype html><meta charset="utf-8"><title>pagescope</title>
<body style="font-family:sans-serif;margin:3em"><h1>pagescope</h1>
<p>The user interface has not been built yet. Run <code>npm run build:renderer</code> in the
pagescope folder, then ${then}.</p></body>`;
}
