import { test } from "node:test";
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { PodFs } from "./pod-fs.js";
import { runCommand, runScript } from "./commands.js";
import type { Proc } from "./process.js";

/** A process with captured output and the given stdin bytes (or none). */
function proc(fs: PodFs, stdin?: Buffer, opts: { tty?: boolean; size?: { width: number; height: number } } = {}) {
  const out: Buffer[] = [];
  const err: string[] = [];
  const input = stdin ? new PassThrough() : undefined;
  input?.end(stdin);
  const p: Proc = {
    stdin: input, tty: opts.tty ?? false, fs, hostname: "pod-a", signal: new AbortController().signal,
    size: () => opts.size,
    interrupt: () => new AbortController().signal,
    out: async (d) => void out.push(Buffer.from(d)),
    err: async (d) => void err.push(String(d)),
  };
  return { p, out: () => Buffer.concat(out), err: () => err.join("") };
}

test("the pod file system starts with /etc/hostname and keeps writes inside /", () => {
  const fs = new PodFs("pod-a");
  assert.equal(fs.readFile("/etc/hostname")!.toString(), "pod-a\n");
  assert.equal(PodFs.resolve("../../etc/x", "/tmp"), "/etc/x");
  assert.ok(fs.writeFile("/a/b/c.txt", Buffer.from("c")));
  assert.deepEqual(fs.walk("/a"), ["/a/b", "/a/b/c.txt"]);
  assert.equal(fs.writeFile("/a/b", Buffer.from("x")), false, "a directory is in the way");
});

test("scripts: ;, && and || decide what runs; exit stops with its code", async () => {
  const { p, out } = proc(new PodFs("pod-a"));
  assert.equal(await runScript("false && echo no; true || echo no; echo yes; exit 5; echo never", p), 5);
  assert.equal(out().toString(), "yes\n");
  const q = proc(new PodFs("pod-a"));
  assert.equal(await runScript("cat /missing || echo 'fell back'", q.p), 0);
  assert.deepEqual([q.out().toString(), q.err()], ["fell back\n", "cat: /missing: No such file or directory\n"]);
});

test("tar cf of a directory and tar xf of that archive elsewhere give the same files", async () => {
  const fs = new PodFs("pod-a");
  const blob = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
  fs.writeFile("/data/x/blob.bin", blob, 0o600);
  fs.writeFile("/data/readme", Buffer.from("hi\n"));
  const packed = proc(fs);
  assert.equal(await runCommand(["tar", "cf", "-", "-C", "/", "data"], packed.p), 0, packed.err());
  const unpacked = proc(fs, packed.out());
  assert.equal(await runCommand(["tar", "--no-same-permissions", "--no-same-owner", "-xmf", "-", "-C", "/restore"], unpacked.p), 0, unpacked.err());
  assert.ok(fs.readFile("/restore/data/x/blob.bin")!.equals(blob));
  assert.equal(fs.stat("/restore/data/x/blob.bin")!.mode, 0o600);
  assert.equal(fs.readFile("/restore/data/readme")!.toString(), "hi\n");
  const missing = proc(fs);
  assert.equal(await runCommand(["tar", "cf", "-", "/nope"], missing.p), 2);
  assert.match(missing.err(), /^tar: \/nope: Cannot stat: No such file or directory\n/);
});

test("stty size needs a terminal; the interactive shell echoes, runs lines and exits on exit", async () => {
  const noTty = proc(new PodFs("pod-a"));
  assert.equal(await runCommand(["stty", "size"], noTty.p), 1);
  const t = proc(new PodFs("pod-a"), Buffer.from("stty size\rhostname\rexit 3\r"), { tty: true, size: { width: 80, height: 24 } });
  assert.equal(await runCommand(["sh"], t.p), 3);
  assert.equal(t.out().toString(), "$ stty size\n24 80\n$ hostname\npod-a\n$ exit 3\n");
  assert.equal(await runCommand(["/usr/bin/nonesuch"], noTty.p), 127);
});
