/// <reference types="vitest/config" />
import { defineConfig } from 'vite';

// The dev server proxies the API and WebSockets to a running framebus (or the mock in dev/).
const backend = process.env.FRAMEBUS_URL ?? 'http://127.0.0.1:8090';

export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1024,
  },
  server: {
    proxy: {
      '/api': backend,
      '/ws': { target: backend.replace(/^http/, 'ws'), ws: true },
    },
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts'],
  },
});
