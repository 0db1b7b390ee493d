// Builds the `daalu` bin: our TypeScript as one ES module (dist/daalu.js),
// split at the lazy imports so each command loads only what it uses. `npm run build -w @daalu/cli`; the CLI tests build it first.
//
// Several test files build it at once, while bins built earlier run and load
// their chunks lazily, so a build never deletes dist or rewrites a file in
// place: each output is written to a temporary name and renamed over the old
// one (chunk names carry their content hash, so a running bin keeps finding
// its chunks), and only chunks older than a day that this build did not
// produce are removed.
import { build } from "esbuild";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = path.join(root, "dist");

const result = await build({
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
  write: false,
});

const same = (file, bytes) => {
  try {
    return readFileSync(file).equals(bytes);
  } catch {
    return false;
  }
};
const written = new Set();
for (const f of result.outputFiles) {
  written.add(f.path);
  if (same(f.path, f.contents)) continue;
  mkdirSync(path.dirname(f.path), { recursive: true });
  const tmp = `${f.path}.${process.pid}.tmp`;
  writeFileSync(tmp, f.contents);
  renameSync(tmp, f.path);
}
const chunks = path.join(dist, "chunks");
const dayAgo = Date.now() - 24 * 3600 * 1000;
for (const name of readdirSync(chunks)) {
  const p = path.join(chunks, name);
  if (written.has(p)) continue;
  try {
    if (statSync(p).mtimeMs < dayAgo) rmSync(p, { force: true });
  } catch {
    // Renamed or removed by a build running at the same time.
  }
}
