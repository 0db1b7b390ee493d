/**
 * Builds the operator app into web/dist for the gateway to serve. The gateway's
 * Content-Security-Policy allows only files from its own origin (no inline
 * script or style), so nothing is inlined: no asset becomes a data: URI and the
 * module preload polyfill (an inline script in some setups) is off.
 */
import { defineConfig, type Plugin } from "vite";
import react from "@vitejs/plugin-react";

const here = (p: string) => decodeURIComponent(new URL(p, import.meta.url).pathname);

/**
 * The entry (src/boot.ts) starts the first page's API requests and then
 * imports the app (src/main.tsx) dynamically. This names the app's chunk and
 * the chunks it imports statically as <link rel="modulepreload"> in
 * index.html, so the browser fetches them while it parses the page instead of
 * after the entry has run.
 */
function preloadApp(): Plugin {
  return {
    name: "daalu-preload-app",
    apply: "build",
    transformIndexHtml: {
      order: "post",
      handler(_html, ctx) {
        const bundle = ctx.bundle;
        if (!bundle) return [];
        const app = Object.values(bundle).find((c) => c.type === "chunk" && c.facadeModuleId?.endsWith("/src/main.tsx"));
        if (!app || app.type !== "chunk") throw new Error("preloadApp: no chunk for src/main.tsx");
        const files = new Set<string>();
        const visit = (file: string) => {
          const c = bundle[file];
          if (files.has(file) || !c || c.type !== "chunk" || c.isEntry) return;
          files.add(file);
          c.imports.forEach(visit);
        };
        visit(app.fileName);
        return [...files].map((f) => ({ tag: "link", attrs: { rel: "modulepreload", crossorigin: true, href: `/${f}` }, injectTo: "head" as const }));
      },
    },
  };
}

export default defineConfig({
  plugins: [react(), preloadApp()],
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
    // The clusters page's chunk (React, react-aria, the router) is the largest; the other pages and the
    // terminal parser load on demand (main.tsx, Clusters.tsx).
    chunkSizeWarningLimit: 800,
  },
  server: {
    // `npm run dev -w web` against a hub on :8080 (./daalu.sh up).
    proxy: { "/v1": "http://127.0.0.1:8080" },
  },
});
