/// <reference types="vitest/config" />
// Two apps, one build: the staff console (/staff/) and the POS terminal app
// (/pos/), sharing the generated API client and the small components in
// src/shared. The server embeds dist/ and serves it (src/api/web in the Rust
// crate): files under /assets/ carry a content hash and are cached as
// immutable, the two index.html files are not cached.
import { resolve } from "node:path";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import react from "@vitejs/plugin-react";
import { type Plugin, defineConfig } from "vite";

/**
 * The POS app's service worker (`/pos/sw.js`), written at build time with
 * the list of files the app needs, so the counter loads with the server out
 * of reach. Its version is a hash of that list: a new build replaces it.
 */
function posServiceWorker(): Plugin {
  return {
    name: "stampede-pos-service-worker",
    apply: "build",
    generateBundle(_options, bundle) {
      const files = Object.keys(bundle)
        .filter((f) => f.startsWith("assets/"))
        .sort()
        .map((f) => `/${f}`);
      const shell = ["/pos/", ...files];
      const version = createHash("sha256").update(shell.join("\n")).digest("hex").slice(0, 12);
      const source = readFileSync(resolve(import.meta.dirname, "src/pos/sw.js"), "utf8")
        .replace("__VERSION__", version)
        .replace("__SHELL__", JSON.stringify(shell));
      this.emitFile({ type: "asset", fileName: "pos/sw.js", source });
    },
  };
}

export default defineConfig({
  plugins: [react(), posServiceWorker()],
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
