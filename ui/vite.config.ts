/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { svelteTesting } from '@testing-library/svelte/vite';

// The app is loaded from the Tauri asset protocol or from `doorstep-ui-host`
// serving `ui/dist`, so every URL is relative and nothing comes from the internet.
export default defineConfig({
  base: './',
  plugins: [svelte(), svelteTesting()],
  clearScreen: false,
  // `npm run dev` in a browser: the commands go to a `doorstep-ui-host`
  // started on its default address (see the README).
  server: { port: 5173, strictPort: true, proxy: { '/invoke': 'http://127.0.0.1:1420' } },
  build: {
    outDir: 'dist',
    target: ['es2020', 'chrome80'],
    emptyOutDir: true,
    sourcemap: false,
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.ts'],
    setupFiles: ['src/tests/setup.ts'],
  },
});
