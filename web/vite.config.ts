/// <reference types="vitest/config" />
import { defineConfig } from 'vite';

// `npm run dev` (and `vite preview`) proxy the API and WebSockets to a running framebus at
// FRAMEBUS_URL (or the mock in dev/). The Origin is rewritten: the server accepts WebSocket
// upgrades only from its own origin.
const backend = process.env.FRAMEBUS_URL ?? 'http://127.0.0.1:8090';
const proxy = { target: backend, changeOrigin: true, headers: { origin: backend } };

export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1024,
  },
  server: {
    proxy: {
      '/api': proxy,
      '/ws': { ...proxy, ws: true },
    },
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts'],
  },
});
