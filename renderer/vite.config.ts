// Vite build of the renderer: renderer/ -> dist/renderer (served by `pagescope serve`, loaded by
// Electron). Relative base so the files work from any path and from file://.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const dir = (rel: string) => decodeURIComponent(new URL(rel, import.meta.url).pathname);

export default defineConfig({
  root: dir('.'),
  base: './',
  plugins: [react()],
  build: {
    outDir: dir('../dist/renderer'),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 1024,
  },
  server: { fs: { allow: [dir('..')] } },
});
