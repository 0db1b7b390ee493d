import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { randomBytes } from "node:crypto";
import { jetstreamManager } from "@nats-io/jetstream";
import WebSocket from "ws";
import { CallerKind } from "@daalu/proto";
import { peeringClient } from "@daalu/peering";
import { auditStreamName, ensureAuditStream } from "@daalu/audit";
import { eventually, setup, type TestEnv } from "@daalu/testing";
import { startTunnelStack, type TunnelStack } from "../../tunnel-proxy/test/harness.js";
import { openGatewayStore, createApiToken } from "../src/admin.js";
import { k8sSessions } from "../src/http/k8s-session.js";
import { seedTenant, type Tokens } from "./helpers.js";
import { startK8sGateway, type K8sGateway } from "./k8s-harness.js";
import { FORBIDDEN_STATUS, startSessionUpstream, type SessionUpstream } from "./session-upstream.js";

// Sessions (exec, attach, port-forward) through gateway -> NATS duplex stream
// -> tunnel-proxy -> edge Session RPC (loopback gRPC) -> a `ws` stand-in API
// server (session-upstream.ts), with the real peering, audit and tunnel-proxy.

const PER_CLUSTER = 3;
let env: TestEnv;
let up: SessionUpstream;
let stack: TunnelStack;
let gw: K8sGateway;
let acme: Tokens & { operator: string; assistant: string };
let cluster: string;

before(async () => {
  env = await setup();
  acme = { ...(await seedTenant(env, "acme")), operator: "", assistant: "" };
  const store = await openGatewayStore(env.databaseUrl);
  acme.operator = (await createApiToken(store, "acme", "olga", { role: "operator" })).token;
  acme.assistant = (await createApiToken(store, "acme", "helper", { role: "operator", kind: "assistant" })).token;
  await store.close();
  up = await startSessionUpstream();
  stack = await startTunnelStack(env, [{ tenant: "acme", name: "prod" }], { TUNNEL_PROXY_SESSIONS_PER_CLUSTER: String(PER_CLUSTER), TUNNEL_PROXY_AUDIT_DEADLINE: "1s" }, { edgeApiServer: async () => ({ server: up.url, token: "edge-proxy-token" }) });
  cluster = stack.clusterIds[0]!;
  gw = await startK8sGateway(env, async ({ app, auth, logger }) => {
    const peering = peeringClient(env.nc, { prefix: env.prefix, defaults: { caller: { kind: CallerKind.SERVICE, id: "gateway" } } });
    k8sSessions(app, { auth, peering, nc: env.nc, natsPrefix: env.prefix, assistantTenants: [], headTimeoutMs: 10_000, logger });
  });
});
after(async () => {
  await gw?.close();
  await stack?.stop();
  await up?.close();
  await env?.cleanup();
});

const podPath = (pod: string, sub = "exec", query = "command=cat&stdin=true&stdout=true") => `/k8s/clusters/${cluster}/api/v1/namespaces/default/pods/${pod}/${sub}?${query}`;

/** An exec WebSocket, open; `received` collects its messages from the first (one can come with the 101). */
function exec(pod: string, token = acme.operator, query?: string): Promise<WebSocket & { received: Buffer[]; closed: Promise<number> }> {
  const sock = new WebSocket(`${gw.httpUrl.replace(/^http/, "ws")}${podPath(pod, "exec", query)}`, ["v5.channel.k8s.io"], { headers: { authorization: `Bearer ${token}` } });
  const ws = Object.assign(sock, { received: [] as Buffer[], closed: new Promise<number>((r) => sock.once("close", r)) });
  ws.on("message", (d: Buffer) => ws.received.push(d));
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
    ws.once("unexpected-response", (_req, res) => reject(new Error(`unexpected ${res.statusCode}`)));
  });
}

/** An upgrade that is refused: status, headers and body. */
function refused(pathAndQuery: string, token: string, upgrade = "websocket"): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${gw.httpUrl}${pathAndQuery}`, { headers: { authorization: `Bearer ${token}`, connection: "Upgrade", upgrade, "sec-websocket-key": randomBytes(16).toString("base64"), "sec-websocket-version": "13", "sec-websocket-protocol": "v5.channel.k8s.io" } });
    req.on("upgrade", (_res, socket) => {
      socket.destroy();
      reject(new Error("upgraded"));
    });
    req.on("response", (res) => {
      const parts: Buffer[] = [];
      res.on("data", (d: Buffer) => parts.push(d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"]), body: Buffer.concat(parts).toString() }));
    });
    req.on("error", reject);
    req.end();
  });
}

test("exec over WebSocket: 1 MiB of stdin comes back as stdout byte-exact, with the edge's credentials upstream", async () => {
  const ws = await exec("echo");
  assert.equal(ws.protocol, "v5.channel.k8s.io");
  const sent = randomBytes(1024 * 1024);
  const got: Buffer[] = [];
  let n = 0;
  const all = new Promise<void>((resolve) =>
    ws.on("message", (d: Buffer) => {
      assert.equal(d[0], 1, "stdout channel");
      got.push(d.subarray(1));
      n += d.length - 1;
      if (n >= sent.length) resolve();
    }),
  );
  for (let off = 0; off < sent.length; off += 32 * 1024) ws.send(Buffer.concat([Buffer.from([0]), sent.subarray(off, off + 32 * 1024)]));
  await all;
  assert.ok(Buffer.concat(got).equals(sent), "byte-exact");
  assert.equal(up.authorizations.at(-1), "Bearer edge-proxy-token", "the edge's token, never the caller's");
  ws.close();
});

test("the client's close ends the upstream connection within 1 s", async () => {
  const ws = await exec("echo");
  await eventually(async () => assert.ok(up.open() >= 1));
  const before = up.closedAt.length;
  const t0 = Date.now();
  ws.terminate();
  await eventually(async () => assert.ok(up.closedAt.length > before), { timeoutMs: 1_000 });
  assert.ok(up.closedAt.at(-1)! - t0 < 1_000, `closed after ${up.closedAt.at(-1)! - t0} ms`);
});

test("the upstream's close ends the client's connection, after what it sent", async () => {
  const ws = await exec("closer");
  const code = await ws.closed;
  assert.equal(Buffer.concat(ws.received).subarray(1).toString(), "bye\n");
  assert.equal(code, 1000, "the upstream's close frame arrived");
});

test("SPDY-like opaque upgrade: bytes echo byte-exact and a half-close travels both ways", async () => {
  const sock = net.connect(Number(new URL(gw.httpUrl).port), "127.0.0.1");
  await new Promise((r) => sock.once("connect", r));
  sock.write(`POST ${podPath("raw", "portforward", "ports=8080")} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${acme.operator}\r\nconnection: Upgrade\r\nupgrade: SPDY/3.1\r\nx-stream-protocol-version: portforward.k8s.io\r\n\r\n`);
  const sent = randomBytes(1024 * 1024);
  const chunks: Buffer[] = [];
  sock.on("data", (d: Buffer) => chunks.push(d));
  await eventually(async () => assert.match(Buffer.concat(chunks).toString("latin1"), /\r\n\r\n/));
  const headEnd = Buffer.concat(chunks).indexOf("\r\n\r\n") + 4;
  const head = Buffer.concat(chunks).subarray(0, headEnd).toString();
  assert.match(head, /^HTTP\/1\.1 101 /);
  assert.match(head, /upgrade: SPDY\/3\.1/i);
  assert.match(head, /x-stream-protocol-version: portforward\.k8s\.io/i);
  sock.end(sent); // half-close after the bytes
  await new Promise((r) => sock.once("end", r));
  assert.ok(Buffer.concat(chunks).subarray(headEnd).equals(sent), "byte-exact echo, then the upstream's half-close");
  sock.destroy();
});

test("the API server's 403 passes verbatim", async () => {
  const r = await refused(podPath("forbidden"), acme.operator);
  assert.equal(r.status, 403);
  assert.equal(r.type, "application/json");
  assert.equal(r.body, FORBIDDEN_STATUS);
});

test("viewer refused with problem+json 403 OPERATOR_REQUIRED; the Assistant refused unless its tenant allows it", async () => {
  const v = await refused(podPath("echo"), acme.viewer);
  assert.equal(v.status, 403);
  assert.match(v.type, /^application\/problem\+json/);
  assert.equal(JSON.parse(v.body).reason, "OPERATOR_REQUIRED");
  const a = await refused(podPath("echo"), acme.assistant);
  assert.equal(a.status, 403);
  assert.equal(JSON.parse(a.body).reason, "ASSISTANT_SESSIONS_DISABLED");
  const other = await refused(`/k8s/clusters/${cluster}/api/v1/namespaces/default/pods/echo/log`, acme.operator);
  assert.equal(other.status, 404, "only exec, attach and portforward upgrade");
});

test("session limit per cluster: 429 problem+json, and a closed session frees its slot", async () => {
  const open = await Promise.all(Array.from({ length: PER_CLUSTER }, () => exec("echo")));
  const r = await refused(podPath("echo"), acme.operator);
  assert.equal(r.status, 429);
  assert.match(r.type, /^application\/problem\+json/);
  assert.equal(JSON.parse(r.body).reason, "SESSION_LIMIT_CLUSTER");
  open.pop()!.close();
  const next = await eventually(() => exec("echo"));
  for (const ws of [...open, next]) ws.close();
  await eventually(() => assert.equal(stack.proxy.openSessions, 0));
});

test("audit: one row per session, written when it starts and completed when it ends, with argv, bytes each way and the close reason", async () => {
  const marker = `m${Date.now()}`;
  const argv = `session_command = array['sh','-c','${marker}']`;
  const ws = await exec("echo", acme.operator, `command=sh&command=-c&command=${marker}&stdin=true&stdout=true`);
  await eventually(async () => assert.equal(await stack.auditRows(cluster, `${argv} and session_phase = 1 and subresource = 'exec' and caller_id = 'olga' and session_ended_at is null`), 1));
  ws.send(Buffer.concat([Buffer.from([0]), Buffer.alloc(1000, 7)]));
  await eventually(() => assert.equal(Buffer.concat(ws.received).length, 1001));
  ws.close();
  await ws.closed;
  await eventually(async () => assert.equal(await stack.auditRows(cluster, `${argv} and session_phase = 2 and bytes_in >= 1001 and bytes_out >= 1001 and session_ended_at >= time and session_close_reason <> ''`), 1));
  assert.equal(await stack.auditRows(cluster, argv), 1, "one row, completed in place");
});

test("audit unavailable: a new session is refused with 503 AUDIT_UNAVAILABLE and never reaches the API server", async () => {
  const jsm = await jetstreamManager(env.nc);
  await jsm.streams.delete(auditStreamName(env.prefix));
  const upgrades = up.authorizations.length;
  try {
    const r = await refused(podPath("echo"), acme.operator);
    assert.equal(r.status, 503);
    assert.match(r.type, /^application\/problem\+json/);
    assert.equal(JSON.parse(r.body).reason, "AUDIT_UNAVAILABLE");
    assert.equal(up.authorizations.length, upgrades, "nothing went upstream");
  } finally {
    await ensureAuditStream(jsm, env.prefix);
  }
});
