/// <reference types="vitest/config" />
// Two apps, one build: the staff console (/staff/) and the POS terminal app
// (/pos/), sharing the generated API client and the small components in
// src/shared. The server embeds dist/ and serves it (src/api/web in the Rust
// crate): files under /assets/ carry a content hash and are cached as
// immutable, the two index.html files are not cached.
import { resolve } from "node:path";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

export default defineConfig({
  plugins: [react()],
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    // No inline scripts or styles: the Content-Security-Policy allows neither.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    rollupOptions: {
      input: {
        staff: resolve(import.meta.dirname, "staff/index.html"),
        pos: resolve(import.meta.dirname, "pos/index.html"),
      },
    },
  },
  server: {
    proxy: { "/v1": "http://127.0.0.1:8080" },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
    setupFiles: ["src/test-setup.ts"],
  },
});
