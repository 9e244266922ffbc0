import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));

/** The web UI: static assets in dist/ui, served by the scheduler at /ui/ (src/scheduler/api/ui.ts). */
export default defineConfig({
  root: here,
  base: '/ui/',
  // Preact's JSX runtime, through esbuild: no plugin needed.
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: join(here, '..', '..', 'dist', 'ui'),
    emptyOutDir: true,
    target: 'es2022',
    // No inline scripts or styles: the scheduler serves the UI under a strict Content-Security-Policy.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: true,
  },
  logLevel: 'warn',
});
