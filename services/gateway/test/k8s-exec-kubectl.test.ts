import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { KubeConfig, KubernetesObjectApi, type KubernetesObject } from "@kubernetes/client-node";
import { generatePatch } from "@daalu/rbac";
import { eventually } from "@daalu/testing";
import { edgeAsPod } from "./k8s-harness.js";
import { startSessionStack, type SessionStack } from "./session-harness.js";
import { blob, get, httpTarget, listenOn } from "../../../packages/kube-double/test/http-target.js";

// The real kubectl exec, attach and cp through the hub: gateway (upgrade) ->
// NATS duplex stream -> tunnel-proxy -> the edge's Session RPC (loopback gRPC,
// no WireGuard) -> the kube-double's WebSocket exec, as the edge's proxy
// ServiceAccount. The chart's default RBAC refuses exec; the `exec` scope's
// generated patch, applied as the customer would, allows it.

const POD = "nginx"; // default namespace, container "nginx" (the double's fixtures)

let s: SessionStack;
let dir: string;

interface Run {
  code: number;
  out: Buffer;
  err: string;
}

/** kubectl over WebSocket (1.32's default) or, with SPDY, as older clients and KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false do. */
const SPDY = { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: "false", KUBECTL_PORT_FORWARD_WEBSOCKETS: "false" };
/** The double serves SPDY (which every kubectl port-forward speaks) through its Go translator, built by the setup. */
const spdySkip = existsSync(new URL("../../../packages/kube-double/spdy/bin/kube-spdy-bridge", import.meta.url)) ? false : "the double's SPDY translator is not built (bash scripts/ensure-go-spdy.sh)";

function kubectl(kubeconfig: string, args: string[], input?: Buffer, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn("kubectl", ["--kubeconfig", kubeconfig, "--cache-dir", path.join(dir, "cache"), ...args], { stdio: ["pipe", "pipe", "pipe"], timeout: 60_000, env: { ...process.env, ...env } });
    const out: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.stdin.on("error", () => {});
    child.stdin.end(input ?? Buffer.alloc(0));
    child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), out: Buffer.concat(out), err }));
  });
}

async function kubeconfigFor(token: string, name: string): Promise<string> {
  const kc = await fetch(`${s.gw.httpUrl}/v1/clusters/${s.cluster}/kubeconfig?token=include`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(kc.status, 200, await kc.clone().text());
  const file = path.join(dir, `${name}.kubeconfig`);
  writeFileSync(file, await kc.text(), { mode: 0o600 });
  return file;
}

interface SessionRow {
  session_phase: number;
  session_command: string[];
  bytes_in: string;
  bytes_out: string;
}

async function sessionRows(): Promise<SessionRow[]> {
  const db = new pg.Client({ connectionString: s.env.databaseUrl });
  await db.connect();
  try {
    return (await db.query<SessionRow>(`select session_phase, session_command, bytes_in, bytes_out, status_code, session_close_reason from audit.calls where cluster_id = $1 and session_phase > 0`, [s.cluster])).rows;
  } finally {
    await db.end();
  }
}

let operator: string;
let viewer: string;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "k8s-exec-kubectl-"));
  s = await startSessionStack({}, { edgeApiServer: edgeAsPod(dir) });
  operator = await kubeconfigFor(s.acme.operator, "operator");
  viewer = await kubeconfigFor(s.acme.viewer, "viewer");
});
after(async () => {
  await s?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("the default read-only RBAC: kubectl exec is Forbidden with the API server's words, and nothing runs", async () => {
  const r = await kubectl(operator, ["exec", POD, "--", "cat", "/etc/hostname"]);
  assert.notEqual(r.code, 0);
  assert.match(r.err, /pods "nginx" is forbidden: User "system:serviceaccount:daalu-edge:daalu-edge-proxy" cannot (create|get) resource "pods\/exec" in API group "" in the namespace "default"/);
  assert.equal(s.stack.kube.sessions({ kind: "exec" }).length, 0);
});

test("a viewer is refused by the hub before anything reaches the cluster", async () => {
  const r = await kubectl(viewer, ["exec", POD, "--", "cat", "/etc/hostname"]);
  assert.notEqual(r.code, 0);
  assert.match(r.err, /operator/i, r.err);
  assert.equal(s.stack.kube.sessions({ kind: "exec" }).length, 0);
});

test("after the customer applies the exec scope's generated patch, exec, exec -i, exit codes, attach and cp work through the hub", { timeout: 120_000 }, async () => {
  const patch = generatePatch({ scopes: ["exec"] }, { release: "daalu-edge", namespace: "daalu-edge", chartVersion: "0.1.0", appVersion: "0.1.0", hubUrl: "https://hub.example.com" });
  const kc = new KubeConfig();
  kc.loadFromString(s.stack.kube.kubeconfig({ token: "admin-token" }));
  const k8s = KubernetesObjectApi.makeApiClient(kc);
  for (const o of patch.objects) await k8s.create(o as KubernetesObject);

  const host = await kubectl(operator, ["exec", POD, "--", "cat", "/etc/hostname"]);
  assert.equal(host.code, 0, host.err);
  assert.equal(host.out.toString().trim(), POD);

  const sent = randomBytes(1024 * 1024);
  const piped = await kubectl(operator, ["exec", "-i", POD, "--", "cat"], sent);
  assert.equal(piped.code, 0, piped.err);
  assert.ok(piped.out.equals(sent), `1 MiB byte-exact (got ${piped.out.length} bytes)`);

  const failed = await kubectl(operator, ["exec", POD, "--", "sh", "-c", "exit 7"]);
  assert.equal(failed.code, 7, "the command's exit code is kubectl's");

  const attached = await kubectl(operator, ["attach", "-i", POD], Buffer.from("hello through the hub\n"));
  assert.equal(attached.code, 0, attached.err);
  assert.match(attached.out.toString(), /hello through the hub/);

  // kubectl cp both ways (exec + tar).
  const local = path.join(dir, "up");
  mkdirSync(local, { recursive: true });
  const file = randomBytes(300 * 1024);
  writeFileSync(path.join(local, "blob.bin"), file);
  const up = await kubectl(operator, ["cp", path.join(local, "blob.bin"), `default/${POD}:/tmp/blob.bin`]);
  assert.equal(up.code, 0, up.err);
  assert.ok(Buffer.from(s.stack.kube.podFs("default", POD).readFile("/tmp/blob.bin")!).equals(file), "uploaded byte-exact");
  const down = await kubectl(operator, ["cp", `default/${POD}:/tmp/blob.bin`, path.join(dir, "back.bin")]);
  assert.equal(down.code, 0, down.err);
  assert.ok(readFileSync(path.join(dir, "back.bin")).equals(file), "downloaded byte-exact");

  // Every session is one audit row, started and completed, with its command and bytes.
  await eventually(async () => {
    const rows = await sessionRows();
    assert.ok(rows.length >= 6, `${rows.length} session rows`);
    assert.ok(rows.every((r) => r.session_phase === 2), `every session completed: ${JSON.stringify(rows)}`);
    const cat = rows.find((r) => r.session_command.join(" ") === "cat /etc/hostname");
    assert.ok(cat, "the argv is recorded");
    const big = rows.find((r) => Number(r.bytes_in) >= sent.length && Number(r.bytes_out) >= sent.length);
    assert.ok(big, "bytes in counted for exec -i");
  });
  for (const x of s.stack.kube.sessions({ kind: "exec" })) assert.equal(x.user, "system:serviceaccount:daalu-edge:daalu-edge-proxy", "as the edge's proxy account");
});

test("SPDY/3.1 through the hub as opaque bytes (KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false): exec, exec -i 1 MiB, exit code", { timeout: 60_000, skip: spdySkip }, async () => {
  const host = await kubectl(operator, ["exec", POD, "--", "cat", "/etc/hostname"], undefined, SPDY);
  assert.equal(host.code, 0, host.err);
  assert.equal(host.out.toString().trim(), POD);
  const sent = randomBytes(1024 * 1024);
  const piped = await kubectl(operator, ["exec", "-i", POD, "--", "cat"], sent, SPDY);
  assert.equal(piped.code, 0, piped.err);
  assert.ok(piped.out.equals(sent), `1 MiB byte-exact (got ${piped.out.length} bytes)`);
  const failed = await kubectl(operator, ["exec", POD, "--", "sh", "-c", "exit 3"], undefined, SPDY);
  assert.equal(failed.code, 3);
});

for (const [mode, env] of [["WebSocket-tunnelled SPDY (default)", {}], ["raw SPDY", SPDY]] as const) {
  test(`kubectl port-forward through the hub, ${mode}: 100 parallel requests and a 64 MiB download byte-exact`, { timeout: 120_000, skip: spdySkip }, async () => {
    const data = blob();
    const app = httpTarget(data);
    s.stack.kube.setPortTarget("default", POD, 80, `127.0.0.1:${await listenOn(app)}`);
    const child = spawn("kubectl", ["--kubeconfig", operator, "--cache-dir", path.join(dir, "cache"), "port-forward", `pod/${POD}`, ":80"], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
    try {
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      let err = "";
      child.stderr.on("data", (d: Buffer) => (err += d.toString()));
      const port = await eventually(() => {
        const m = /Forwarding from 127\.0\.0\.1:(\d+) -> 80/.exec(out);
        assert.ok(m, `${out}${err}`);
        return Number(m[1]);
      });
      const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => get(port, `/r${i}`)));
      answers.forEach((a, i) => assert.deepEqual([a.status, a.body.toString()], [200, `hello /r${i}`]));
      const t0 = Date.now();
      const big = await get(port, "/blob");
      const ms = Date.now() - t0;
      assert.equal(big.status, 200);
      assert.ok(big.body.equals(data), `64 MiB byte-exact (got ${big.body.length} bytes)`);
      console.log(`${mode}: 64 MiB through the hub in ${ms} ms (${((64 * 1000) / ms).toFixed(1)} MiB/s)`);
    } finally {
      child.kill("SIGINT");
      app.close();
    }
  });
}
