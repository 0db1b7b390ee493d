/**
 * `tar cf - PATH…` and `tar xf - -C DIR` against the pod's file system, the
 * two commands `kubectl cp` runs in a container. The archive format is
 * tar-stream's (ustar); options are read with node:util parseArgs, old-style
 * bundles (`cf`) taken as `-cf`.
 */
import { parseArgs } from "node:util";
import { posix } from "node:path";
import { Readable } from "node:stream";
import tar from "tar-stream";
import { PodFs } from "./pod-fs.js";
import { readStdin, type Proc } from "./process.js";

const OPTIONS = {
  create: { type: "boolean", short: "c" },
  extract: { type: "boolean", short: "x" },
  file: { type: "string", short: "f" },
  directory: { type: "string", short: "C" },
  verbose: { type: "boolean", short: "v" },
  touch: { type: "boolean", short: "m" },
  "no-same-permissions": { type: "boolean" },
  "no-same-owner": { type: "boolean" },
} as const;

export async function tarCommand(argv: string[], p: Proc): Promise<number> {
  const args = argv.slice(1);
  if (args[0] && !args[0].startsWith("-")) args[0] = `-${args[0]}`;
  let parsed;
  try {
    parsed = parseArgs({ args, options: OPTIONS, allowPositionals: true });
  } catch (e) {
    await p.err(`tar: ${(e as Error).message}\n`);
    return 2;
  }
  const { values: v, positionals } = parsed;
  if (v.file !== undefined && v.file !== "-") {
    await p.err("tar: only the archive '-' (stdin/stdout) is supported\n");
    return 2;
  }
  const cwd = PodFs.resolve(v.directory ?? "/");
  if (v.create) return create(p, cwd, positionals);
  if (v.extract) return extract(p, cwd, v.touch ?? false);
  await p.err("tar: You must specify one of the '-cx' options\n");
  return 2;
}

async function create(p: Proc, cwd: string, paths: string[]): Promise<number> {
  if (paths.length === 0) {
    await p.err("tar: Cowardly refusing to create an empty archive\n");
    return 2;
  }
  const pack = tar.pack();
  let code = 0;
  const add = async () => {
    for (const given of paths) {
      const abs = PodFs.resolve(given, cwd);
      const e = p.fs.stat(abs);
      if (!e) {
        await p.err(`tar: ${given}: Cannot stat: No such file or directory\n`);
        code = 2;
        continue;
      }
      // GNU tar names members as given, relative to -C, without a leading "/".
      const base = given.replace(/^\/+/, "") || ".";
      for (const path of [abs, ...p.fs.walk(abs)]) {
        const entry = p.fs.stat(path)!;
        const name = path === abs ? base : posix.join(base, posix.relative(abs, path));
        if (entry.type === "dir") pack.entry({ name: `${name}/`, type: "directory", mode: entry.mode, mtime: entry.mtime });
        else pack.entry({ name, type: "file", mode: entry.mode, mtime: entry.mtime, size: entry.data.length }, entry.data);
      }
    }
    pack.finalize();
  };
  void add();
  for await (const chunk of pack) await p.out(chunk as Buffer);
  if (code !== 0) await p.err("tar: Exiting with failure status due to previous errors\n");
  return code;
}

async function extract(p: Proc, cwd: string, touch: boolean): Promise<number> {
  const ex = tar.extract();
  Readable.from(readStdin(p)).pipe(ex);
  try {
    for await (const entry of ex) {
      const h = entry.header;
      const target = PodFs.resolve(h.name, cwd);
      if (h.type === "directory") {
        p.fs.mkdirp(target, h.mode ?? 0o755);
        entry.resume();
        continue;
      }
      if (h.type !== "file" && h.type !== "contiguous-file") {
        entry.resume();
        continue;
      }
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      if (!p.fs.writeFile(target, Buffer.concat(chunks), h.mode ?? 0o644, touch ? new Date() : (h.mtime ?? new Date()))) {
        await p.err(`tar: ${h.name}: Cannot open: Is a directory\n`);
        return 2;
      }
    }
  } catch (e) {
    await p.err(`tar: ${(e as Error).message}\ntar: Error is not recoverable: exiting now\n`);
    return 2;
  }
  return 0;
}
