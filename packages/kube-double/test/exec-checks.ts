/** Checks of kubectl exec that hold whichever protocol kubectl speaks (WebSocket or SPDY). */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { eventually } from "@daalu/testing";
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
  const child = spawn("script", ["-qec", `stty rows 30 cols 100; exec ${cmd}`, "/dev/null"], { env: { ...k.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number>((resolve) => child.on("close", (code) => resolve(code ?? 1)));
  return { child, output: () => out, exited };
}

/** The pseudo-terminal kubectl runs in under underTerminal (script's child's stdin). */
async function ptyOf(scriptPid: number): Promise<string> {
  const ptsOf = spawn("sh", ["-c", `for p in $(pgrep -P ${scriptPid}); do readlink /proc/$p/fd/0; done | grep -m1 /dev/pts`]);
  let pts = "";
  ptsOf.stdout.on("data", (d: Buffer) => (pts += d.toString()));
  await new Promise((resolve) => ptsOf.on("close", resolve));
  assert.match(pts.trim(), /^\/dev\/pts\/\d+$/);
  return pts.trim();
}

/**
 * `exec -it POD -- sh` under a 30×100 pseudo-terminal: the prompt, `stty size` in the container says 30 100; the
 * terminal kubectl runs in is resized to 40×120 (as a window resize: kubectl gets SIGWINCH and sends the new size on
 * the resize channel or stream) and `stty size` says 40 120; typed lines echo; `exit 4` is kubectl's exit code.
 */
export async function assertTtyResize(k: Kubectl, double: KubeDouble, pod: string): Promise<void> {
  const { child, output, exited } = underTerminal(k, ["exec", "-it", pod, "--", "sh"]);
  try {
    await eventually(() => assert.ok(output().includes("$ "), output()), { timeoutMs: 10_000 });
    const session = double.sessions({ pod, kind: "exec", running: true }).at(-1)!;
    assert.equal(session.tty, true);
    // The shell starts when the session does; the first size comes on its own channel or stream, maybe after the prompt.
    await eventually(() => assert.deepEqual(session.size, { width: 100, height: 30 }), { timeoutMs: 5000 });
    child.stdin.write("stty size\r");
    await eventually(() => assert.match(output(), /stty size\r\n30 100\r\n\$ $/), { timeoutMs: 5000 });
    const pts = await ptyOf(child.pid!);
    await new Promise((resolve) => spawn("stty", ["-F", pts, "rows", "40", "cols", "120"]).on("close", resolve));
    await eventually(() => assert.deepEqual(session.size, { width: 120, height: 40 }), { timeoutMs: 5000 });
    child.stdin.write("stty size\r");
    await eventually(() => assert.match(output(), /40 120\r\n\$ $/), { timeoutMs: 5000 });
    child.stdin.write("echo hi there\r");
    await eventually(() => assert.match(output(), /echo hi there\r\nhi there\r\n\$ $/), { timeoutMs: 5000 });
    child.stdin.write("exit 4\r");
    assert.equal(await exited, 4);
    assert.deepEqual([session.reason, session.exitCode], ["exit", 4]);
  } finally {
    child.kill("SIGKILL");
  }
}
