/// <reference types="vitest" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The gateway serves dist/ under a strict Content-Security-Policy (script-src 'self',
// style-src 'self'): no inline scripts or styles in index.html, and no module preload
// polyfill (Vite would inline it).
export default defineConfig({
  plugins: [react()],
  base: "/",
  build: {
    outDir: "dist",
    assetsDir: "assets",
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: "es2020",
    rollupOptions: {
      // uPlot (no dependencies) in its own chunk, loaded only by the chart pages.
      output: { manualChunks: (id) => (id.includes("/node_modules/uplot/") ? "uplot" : undefined) },
    },
  },
  server: {
    // `npm run dev` forwards the API to a local gateway on 127.0.0.1:8080.
    proxy: {
      "/api": { target: "http://127.0.0.1:8080", changeOrigin: false },
    },
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.ts"],
  },
});
