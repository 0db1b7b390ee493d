// Builds the `daalu` bin: our TypeScript as one ES module (dist/daalu.js),
// split at the lazy imports so each command loads only what it uses. `npm run build -w @daalu/cli`; the CLI tests build it first.
import { build } from "esbuild";
import { rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
rmSync(path.join(root, "dist"), { recursive: true, force: true });

await build({
  absWorkingDir: root,
  entryPoints: { daalu: "src/main.ts" },
  outdir: "dist",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  chunkNames: "chunks/[name]-[hash]",
  // Dependencies load from node_modules as Node resolves them (named exports of
  // CommonJS packages work there, not across esbuild's split chunks).
  packages: "external",
  logLevel: "warning",
});
