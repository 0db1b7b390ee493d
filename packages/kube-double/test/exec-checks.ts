/** Checks of kubectl exec that hold whichever protocol kubectl speaks (WebSocket or SPDY). */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { KubeDouble } from "../src/index.js";
import type { Kubectl } from "./kubectl.js";

/** A non-zero exit code becomes kubectl's exit code; stderr stays apart from stdout. */
export async function assertExitCodes(k: Kubectl, pod: string): Promise<void> {
  const r = await k.run(["exec", pod, "--", "sh", "-c", "echo out; cat /nope; exit 7"]);
  assert.equal(r.code, 7);
  assert.equal(r.stdout, "out\n");
  assert.equal(r.stderr, "cat: /nope: No such file or directory\ncommand terminated with exit code 7\n");
  assert.equal((await k.run(["exec", pod, "--", "false"])).code, 1);
  assert.equal((await k.run(["exec", pod, "--", "no-such-binary"])).code, 127);
}

/** `exec -i -- cat` returns 1 MiB of stdin byte-exact, and cat ends when stdin does. */
export async function assertStdinRoundTrip(k: Kubectl, double: KubeDouble, pod: string): Promise<void> {
  const data = randomBytes(1 << 20);
  const r = await k.pipe(["exec", "-i", pod, "--", "cat"], data);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.length, data.length);
  assert.ok(r.stdout.equals(data), "stdout differs from stdin");
  const s = double.sessions({ pod, kind: "exec" }).at(-1)!;
  assert.deepEqual([s.bytesIn, s.bytesOut, s.reason], [data.length, data.length, "exit"]);
}

/** kubectl under a pseudo-terminal of 30 rows × 100 columns, driven by script(1): what is written to stdin is typed. */
export function underTerminal(k: Kubectl, args: string[], env: Record<string, string> = {}) {
  const cmd = ["kubectl", ...k.argv(args)].map((a) => `'${a}'`).join(" ");
  const child = spawn("script", ["-qec", `stty rows 30 cols 100; exec ${cmd}`, "/dev/null"], { env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number>((resolve) => child.on("close", (code) => resolve(code ?? 1)));
  return { child, output: () => out, exited };
}
