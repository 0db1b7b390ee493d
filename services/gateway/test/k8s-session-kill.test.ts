import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { CallerKind, auditv1, peeringv1 } from "@daalu/proto";
import { createAuditClient } from "@daalu/audit";
import { peeringClient } from "@daalu/peering";
import { freePort, natsClient } from "@daalu/runtime";
import { startKubeDouble, type KubeDouble } from "@daalu/kube-double";
import { startStack, type Stack } from "@daalu/stack";
import { eventually, setup, spawnService, type ServiceProcess, type TestEnv } from "@daalu/testing";
import { openGatewayStore, createApiToken } from "../src/admin.js";
import { k8sSessions } from "../src/http/k8s-session.js";
import { SESSION_EDGE_ENTRY } from "./session-edge-process.js";
import { seedTenant } from "./helpers.js";
import { startK8sGateway, type K8sGateway } from "./k8s-harness.js";

// SIGKILL of the hub's session carriers mid-session, each a real process: the tunnel-proxy and the edge's gRPC
// server (no WireGuard: the tunnel-proxy reaches the edge on loopback); peering and audit are processes too, the
// gateway runs here. The real kubectl `exec -i` holds a session open through gateway -> NATS -> tunnel-proxy ->
// edge -> kube-double. Whatever dies, kubectl must exit non-zero with the hub's reason within the liveness bound, and
// the session's audit row must be completed or marked interrupted — never left open, never missing.

/** The gateway's session idle timeout (SESSION_IDLE_TIMEOUT_MS, 8 s) plus its 1 s check and kubectl's exit. */
const CLIENT_BOUND_MS = 10_000;
/** The audit service's owner timeout (AUDIT_SESSION_OWNER_TIMEOUT, 10 s) + a sweep period (2.5 s) + a heartbeat (2 s). */
const ROW_BOUND_MS = 15_000;

let env: TestEnv;
let kube: KubeDouble;
let stack: Stack;
let gw: K8sGateway;
let edge: ServiceProcess;
let edgeEnv: Record<string, string>;
let dir: string;
let kubeconfig: string;
let cluster: string;
let db: pg.Pool;

interface Row {
  session_phase: number;
  session_owner: string;
  session_close_reason: string;
  session_ended_at: Date | null;
  time: Date;
  ok: boolean;
}

async function rowOf(command: string): Promise<Row | undefined> {
  const r = await db.query<Row>(`select session_phase, session_owner, session_close_reason, session_ended_at, time, ok from audit.calls where cluster_id = $1 and $2 = any(session_command)`, [cluster, command]);
  assert.ok(r.rows.length <= 1, `one row per session, got ${r.rows.length}`);
  return r.rows[0];
}

/** kubectl exec -i into the double's `sh -c cat` (the extra argument, which sh ignores, names the session's row), stdin open. */
function execCat(marker: string) {
  const child = spawn("kubectl", ["--kubeconfig", kubeconfig, "--cache-dir", path.join(dir, "cache"), "exec", "-i", "nginx", "--", "sh", "-c", "cat", marker], { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  let code: number | undefined;
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  child.stdin.on("error", () => undefined);
  const exited = new Promise<number>((r) => child.on("close", (c, s) => r((code = c ?? (s ? 128 : 1)))));
  return { child, out: () => out, err: () => err, code: () => code, exited };
}

/** The marker's row once it is in `phase` (1 open, 2 completed, 3 interrupted). */
function rowInPhase(marker: string, phase: number, timeoutMs = 10_000): Promise<Row> {
  return eventually(
    async () => {
      const r = await rowOf(marker);
      assert.equal(r?.session_phase, phase, `row phase ${r?.session_phase}`);
      return r!;
    },
    { timeoutMs, intervalMs: 200 },
  );
}

let attempt = 0;

/** A session that works: bytes both ways, kubectl exits 0, its row completed (each try its own marker: a refused one has a row too). */
async function assertSessionWorks(prefix: string): Promise<void> {
  const marker = `${prefix}-${++attempt}`;
  const k = execCat(marker);
  k.child.stdin.end("after the restart\n");
  assert.equal(await k.exited, 0, k.err());
  assert.equal(k.out(), "after the restart\n");
  const row = await rowInPhase(marker, 2);
  assert.ok(row.ok, row.session_close_reason);
}

/** Opens `kubectl exec -i … cat`, proves the session carries bytes and that its row is open, and returns it. */
async function openSession(marker: string) {
  const k = execCat(marker);
  k.child.stdin.write("ping\n");
  await eventually(() => assert.equal(k.out(), "ping\n", k.err()), { timeoutMs: 15_000 });
  return { k, row: await rowInPhase(marker, 1) };
}

function startEdge(): Promise<unknown> {
  edge = spawnService(SESSION_EDGE_ENTRY, edgeEnv);
  return edge.ready;
}

before(async () => {
  env = await setup();
  dir = mkdtempSync(path.join(tmpdir(), "session-kill-"));
  await seedTenant(env, "acme");
  const store = await openGatewayStore(env.databaseUrl);
  const operator = (await createApiToken(store, "acme", "olga", { role: "operator" })).token;
  await store.close();
  kube = await startKubeDouble();
  writeFileSync(path.join(dir, "kube-ca.pem"), kube.ca!);
  const edgePort = await freePort();
  // The double's admin: exec is allowed without the RBAC preset (tested elsewhere), so only the kill is tested here.
  edgeEnv = { ...env.env, SESSION_EDGE_PORT: String(edgePort), SESSION_EDGE_API_SERVER: kube.url, SESSION_EDGE_CA_FILE: path.join(dir, "kube-ca.pem"), SESSION_EDGE_TOKEN: "admin-token" };
  await startEdge();
  stack = await startStack({
    databaseUrl: env.databaseUrl,
    natsUrl: env.natsUrl,
    prefix: env.prefix,
    env: { ...env.env, LOG_LEVEL: "info" },
    services: ["peering", "audit", "tunnel-proxy"],
    serviceEnv: {
      peering: { PEERING_GRPC_ADDR: "off" },
      audit: { AUDIT_GRPC_ADDR: "off", AUDIT_BATCH_WAIT: "5ms" },
      "tunnel-proxy": async () => {
        const pc = natsClient(env.nc, peeringv1.PeeringService, { prefix: env.prefix, defaults: { caller: { kind: CallerKind.SERVICE, id: "test" } } });
        cluster = (await pc.createCluster({ name: "prod" }, { tenantId: "acme" })).cluster!.id;
        return { TUNNEL_PROXY_EDGE_ADDR_OVERRIDE: `${cluster}=127.0.0.1:${edgePort}` };
      },
    },
  });
  gw = await startK8sGateway(env, async ({ app, auth, logger }) => {
    const peering = peeringClient(env.nc, { prefix: env.prefix, defaults: { caller: { kind: CallerKind.SERVICE, id: "gateway" } } });
    k8sSessions(app, { auth, peering, nc: env.nc, natsPrefix: env.prefix, assistantTenants: [], headTimeoutMs: 10_000, logger });
  });
  const kc = await fetch(`${gw.httpUrl}/v1/clusters/${cluster}/kubeconfig?token=include`, { headers: { authorization: `Bearer ${operator}` } });
  assert.equal(kc.status, 200, await kc.clone().text());
  kubeconfig = path.join(dir, "operator.kubeconfig");
  writeFileSync(kubeconfig, await kc.text(), { mode: 0o600 });
  db = new pg.Pool({ connectionString: env.databaseUrl, max: 2 });
  db.on("error", () => undefined);
});

after(async () => {
  await gw?.close();
  await stack?.stop();
  await edge?.kill();
  await kube?.close();
  await db?.end();
  await env?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("SIGKILL of the tunnel-proxy mid exec -i: kubectl exits non-zero with the hub's reason in the bound, the row is marked interrupted, and a restarted tunnel-proxy carries sessions", { timeout: 90_000 }, async () => {
  const killed = stack.process("tunnel-proxy");
  const instance = String((await killed.ready)["instance"]);
  const { k, row } = await openSession("tp-kill");
  assert.equal(row.session_owner, instance, "the row names the tunnel-proxy instance carrying it");

  const t0 = Date.now();
  await killed.kill();
  await eventually(() => assert.notEqual(k.code(), undefined, "kubectl still runs"), { timeoutMs: CLIENT_BOUND_MS, intervalMs: 100 });
  const clientMs = Date.now() - t0;
  assert.notEqual(k.code(), 0);
  assert.match(k.err(), /interrupted by the hub: the hub's tunnel-proxy stopped answering/, k.err());

  const done = await rowInPhase("tp-kill", 3, ROW_BOUND_MS);
  const rowMs = Date.now() - t0;
  assert.match(done.session_close_reason, new RegExp(`^interrupted: the hub's tunnel-proxy carrying the session stopped \\(instance ${instance}`));
  assert.equal(done.ok, false);
  // Ended at its last heartbeat: after the session started, no later than a heartbeat after the kill.
  assert.ok(done.session_ended_at! >= done.time && done.session_ended_at!.getTime() <= t0 + 2_500, `ended at ${done.session_ended_at!.toISOString()}`);
  // What QueryCalls (REST /v1/audit) shows: interrupted, not open.
  const calls = await createAuditClient(env.nc, { prefix: env.prefix }).queryCalls({ clusterId: cluster }, { tenantId: "acme", caller: { kind: CallerKind.SERVICE, id: "test" } });
  const rec = calls.calls.find((c) => c.session?.command.includes("tp-kill"));
  assert.equal(rec?.session?.state, auditv1.SessionState.INTERRUPTED);
  console.log(`RESULT tunnel-proxy SIGKILL: kubectl exited ${k.code()} after ${clientMs} ms; row interrupted after ${rowMs} ms`);

  const again = stack.respawn("tunnel-proxy");
  assert.notEqual(String((await again.ready)["instance"]), instance, "a restarted tunnel-proxy has a new instance id");
  await eventually(() => assertSessionWorks("tp-after"), { timeoutMs: 20_000, intervalMs: 500 });
});

test("SIGKILL of the edge mid exec -i: kubectl exits non-zero with the edge-gone reason, the row is completed with it, and a restarted edge carries sessions", { timeout: 90_000 }, async () => {
  const { k } = await openSession("edge-kill");
  const t0 = Date.now();
  await edge.kill();
  await eventually(() => assert.notEqual(k.code(), undefined, "kubectl still runs"), { timeoutMs: CLIENT_BOUND_MS, intervalMs: 100 });
  const clientMs = Date.now() - t0;
  assert.notEqual(k.code(), 0);
  assert.match(k.err(), /interrupted by the hub: the edge is gone/, k.err());
  const done = await rowInPhase("edge-kill", 2, ROW_BOUND_MS);
  const rowMs = Date.now() - t0;
  assert.match(done.session_close_reason, /^the edge is gone: its call failed/);
  assert.equal(done.ok, false);
  console.log(`RESULT edge SIGKILL: kubectl exited ${k.code()} after ${clientMs} ms; row completed after ${rowMs} ms (${done.session_close_reason})`);

  await startEdge();
  await eventually(() => assertSessionWorks("edge-after"), { timeoutMs: 30_000, intervalMs: 500 });
});
