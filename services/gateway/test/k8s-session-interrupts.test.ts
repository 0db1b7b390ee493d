import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { eventually } from "@daalu/testing";
import { edgeAsPod } from "./k8s-harness.js";
import { grantExecScope, kubeconfigFor, kubectl, kubectlArgs, sessionRows, spdySkip } from "./kubectl-session-kit.js";
import { startSessionStack, type SessionStack } from "./session-harness.js";
import { get, httpTarget, listenOn } from "../../../packages/kube-double/test/http-target.js";

// How a session ends through the hub (gateway -> NATS -> tunnel-proxy -> the
// edge's Session RPC on loopback gRPC -> the kube-double) when the user
// interrupts it: Ctrl-C in `kubectl exec -it` under a terminal, SIGINT to
// kubectl, and the target pod deleted under `kubectl port-forward`. The
// timings are printed; the limits are the (1 s, 5 s).

let s: SessionStack;
let dir: string;
let operator: string;
let admin: string;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "k8s-session-interrupts-"));
  s = await startSessionStack({}, { edgeApiServer: edgeAsPod(dir) });
  operator = await kubeconfigFor(s, dir, s.acme.operator, "operator");
  admin = path.join(dir, "double-admin.kubeconfig");
  writeFileSync(admin, s.stack.kube.kubeconfig({ token: "admin-token" }));
  await grantExecScope(s);
});
after(async () => {
  await s?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Output and exit of a child, collected as it runs. */
function watch(child: ChildProcess): { out: () => string; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  return { out: () => out, exited: new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal }))) };
}

/** The double's one running session of `kind` on `pod`, once it is there. */
const running = (pod: string, kind: "exec" | "portforward") =>
  eventually(() => {
    const r = s.stack.kube.sessions({ pod, kind, running: true });
    assert.equal(r.length, 1, `running ${kind} sessions on ${pod}`);
    return r[0]!;
  });

/** Polls until the double's session ended; prints and returns how long after t0. */
async function endedWithin(rec: { endedAt?: Date }, t0: number, what: string, limitMs: number): Promise<number> {
  const ended = await eventually(() => {
    assert.ok(rec.endedAt, "the session ended in the double");
    return rec.endedAt;
  }, { timeoutMs: 5_000, intervalMs: 5 });
  const ms = ended.getTime() - t0;
  console.log(`${what} -> session ended at the API server: ${ms} ms`);
  assert.ok(ms <= limitMs, `${ms} ms`);
  return ms;
}

test("Ctrl-C typed in kubectl exec -it (under a terminal) ends the command at the API server within 1 s", { timeout: 60_000 }, async () => {
  // script(1) gives kubectl a pseudo-terminal; what we write is typed on it.
  const cmd = ["kubectl", ...kubectlArgs(dir, operator), "exec", "-it", "nginx", "--", "sleep", "100"].join(" ");
  const child = spawn("script", ["-qfec", cmd, "/dev/null"], { stdio: ["pipe", "pipe", "pipe"] });
  const w = watch(child);
  try {
    const rec = await running("nginx", "exec");
    assert.equal(rec.tty, true);
    const t0 = Date.now();
    child.stdin!.write("\x03");
    await endedWithin(rec, t0, "Ctrl-C", 1_000);
    assert.deepEqual([rec.reason, rec.exitCode], ["exit", 130], "sleep got SIGINT from the terminal");
    const { code } = await w.exited;
    assert.equal(code, 130, `kubectl exits with the command's code: ${w.out()}`);
  } finally {
    child.kill("SIGKILL");
  }
  await eventually(async () => {
    const row = (await sessionRows(s)).find((r) => r.session_command.join(" ") === "sleep 100");
    assert.deepEqual([row?.session_phase, row?.session_exit_status, row?.session_exit_code], [2, "NonZeroExitCode", 130]);
  });
});

test("SIGINT to kubectl exec (no terminal) closes the session at the API server within 1 s", { timeout: 60_000 }, async () => {
  const child = spawn("kubectl", [...kubectlArgs(dir, operator), "exec", "-i", "nginx", "--", "sleep", "99"], { stdio: ["pipe", "pipe", "pipe"] });
  const w = watch(child);
  try {
    const rec = await running("nginx", "exec");
    const t0 = Date.now();
    child.kill("SIGINT");
    await endedWithin(rec, t0, "SIGINT to kubectl", 1_000);
    assert.equal(rec.reason, "client-closed");
    await w.exited;
  } finally {
    child.kill("SIGKILL");
  }
  await eventually(async () => {
    const row = (await sessionRows(s)).find((r) => r.session_command.join(" ") === "sleep 99");
    assert.equal(row?.session_phase, 2, "completed");
    assert.equal(row?.session_exit_status, "", "no Status: the client went away before the command ended");
  });
});

test("deleting the target pod (kubectl delete pod) makes kubectl port-forward through the hub exit within 5 s", { timeout: 60_000, skip: spdySkip }, async () => {
  const POD = "web-cgjdfcgjxd-dmfde";
  const app = httpTarget(Buffer.alloc(0));
  s.stack.kube.setPortTarget("shop", POD, 8080, `127.0.0.1:${await listenOn(app)}`);
  const child = spawn("kubectl", [...kubectlArgs(dir, operator), "-n", "shop", "port-forward", `pod/${POD}`, ":8080"], { stdio: ["ignore", "pipe", "pipe"] });
  const w = watch(child);
  try {
    const port = await eventually(() => {
      const m = /Forwarding from 127\.0\.0\.1:(\d+) -> 8080/.exec(w.out());
      assert.ok(m, w.out());
      return Number(m[1]);
    });
    assert.equal((await get(port, "/before")).status, 200, "forwarding works before the pod goes");
    const t0 = Date.now();
    const del = await kubectl(dir, admin, ["-n", "shop", "delete", "pod", POD, "--wait=false"]);
    assert.equal(del.code, 0, del.err);
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([w.exited, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), 10_000)))]).finally(() => clearTimeout(timer));
    const ms = Date.now() - t0;
    console.log(`pod deleted -> kubectl port-forward exited: ${ms} ms (${JSON.stringify(exit)})`);
    assert.ok(exit, `kubectl port-forward still runs after 10 s: ${w.out()}`);
    assert.ok(ms <= 5_000, `${ms} ms`);
    assert.notEqual(exit.code, 0);
    assert.match(w.out(), /lost connection to pod/);
  } finally {
    child.kill("SIGKILL");
    app.close();
  }
  await eventually(async () => {
    const rows = (await sessionRows(s)).filter((r) => r.session_command.length === 0 && r.session_phase > 0);
    assert.ok(rows.length >= 1 && rows.every((r) => r.session_phase === 2), JSON.stringify(rows));
  });
});
