/**
 * Builds the operator app into web/dist for the gateway to serve. The gateway's
 * Content-Security-Policy allows only files from its own origin (no inline
 * script or style), so nothing is inlined: no asset becomes a data: URI and the
 * module preload polyfill (an inline script in some setups) is off.
 */
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

const here = (p: string) => decodeURIComponent(new URL(p, import.meta.url).pathname);

export default defineConfig({
  plugins: [react()],
  resolve: {
    // The package's "module" field names a file it does not ship; its ESM build is this one.
    alias: { "@xterm/headless": here("../node_modules/@xterm/headless/lib-headless/xterm-headless.mjs") },
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    // React, react-aria and the router are one ~600 kB chunk (190 kB gzipped); the terminal parser loads on demand.
    chunkSizeWarningLimit: 800,
  },
  server: {
    // `npm run dev -w web` against a hub on :8080 (./daalu.sh up).
    proxy: { "/v1": "http://127.0.0.1:8080" },
  },
});
