import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { randomBytes } from "node:crypto";
import { eventually } from "@daalu/testing";
import { startSessionStack, type SessionStack } from "./session-harness.js";
import { FORBIDDEN_STATUS } from "./session-upstream.js";

// Sessions (exec, attach, port-forward) end to end in one process (session-harness.ts).
// The audit-unavailable case is in k8s-session-audit.test.ts: it deletes the audit stream.

const PER_CLUSTER = 3;
const IDLE_MS = 3_000;
let s: SessionStack;

before(async () => {
  s = await startSessionStack({ TUNNEL_PROXY_SESSIONS_PER_CLUSTER: String(PER_CLUSTER), TUNNEL_PROXY_SESSION_IDLE_TIMEOUT: `${IDLE_MS}ms` });
});
after(() => s?.close());

test("exec over WebSocket: 1 MiB of stdin comes back as stdout byte-exact, with the edge's credentials upstream", async () => {
  const ws = await s.exec("echo");
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
  assert.equal(s.up.authorizations.at(-1), "Bearer edge-proxy-token", "the edge's token, never the caller's");
  ws.close();
});

test("the client's close ends the upstream connection within 1 s", async () => {
  // Only this session open upstream, so the close counted below is its own.
  await eventually(() => assert.equal(s.up.open(), 0));
  const ws = await s.exec("echo");
  await eventually(() => assert.equal(s.up.open(), 1));
  const t0 = Date.now();
  ws.terminate();
  await eventually(() => assert.equal(s.up.open(), 0), { timeoutMs: 1_000, intervalMs: 5 });
  const took = s.up.closedAt.at(-1)! - t0;
  assert.ok(took < 1_000, `closed after ${took} ms`);
  console.log(`# upstream closed ${took} ms after the client's close`);
});

test("the upstream's close ends the client's connection, after what it sent", async () => {
  const ws = await s.exec("closer");
  const code = await ws.closed;
  assert.equal(Buffer.concat(ws.received).subarray(1).toString(), "bye\n");
  assert.equal(code, 1000, "the upstream's close frame arrived");
});

test("SPDY-like opaque upgrade: bytes echo byte-exact and a half-close travels both ways", async () => {
  const sock = net.connect(Number(new URL(s.gw.httpUrl).port), "127.0.0.1");
  await new Promise((r) => sock.once("connect", r));
  sock.write(`POST ${s.podPath("raw", "portforward", "ports=8080")} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${s.acme.operator}\r\nconnection: Upgrade\r\nupgrade: SPDY/3.1\r\nx-stream-protocol-version: portforward.k8s.io\r\n\r\n`);
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
  const r = await s.refused(s.podPath("forbidden"), s.acme.operator);
  assert.equal(r.status, 403);
  assert.equal(r.type, "application/json");
  assert.equal(r.body, FORBIDDEN_STATUS);
});

test("viewer refused with problem+json 403 OPERATOR_REQUIRED; the Assistant refused unless its tenant allows it", async () => {
  const v = await s.refused(s.podPath("echo"), s.acme.viewer);
  assert.equal(v.status, 403);
  assert.match(v.type, /^application\/problem\+json/);
  assert.equal(JSON.parse(v.body).reason, "OPERATOR_REQUIRED");
  const a = await s.refused(s.podPath("echo"), s.acme.assistant);
  assert.equal(a.status, 403);
  assert.equal(JSON.parse(a.body).reason, "ASSISTANT_SESSIONS_DISABLED");
  const other = await s.refused(`/k8s/clusters/${s.cluster}/api/v1/namespaces/default/pods/echo/log`, s.acme.operator);
  assert.equal(other.status, 404, "only exec, attach and portforward upgrade");
});

test("session limit per cluster: 429 problem+json, and a closed session frees its slot", async () => {
  const open = await Promise.all(Array.from({ length: PER_CLUSTER }, () => s.exec("echo")));
  const r = await s.refused(s.podPath("echo"), s.acme.operator);
  assert.equal(r.status, 429);
  assert.match(r.type, /^application\/problem\+json/);
  assert.equal(JSON.parse(r.body).reason, "SESSION_LIMIT_CLUSTER");
  open.pop()!.close();
  const next = await eventually(() => s.exec("echo"));
  for (const ws of [...open, next]) ws.close();
  await eventually(() => assert.equal(s.stack.proxy.openSessions, 0));
});

test("audit: one row per session, written when it starts and completed when it ends, with argv, bytes each way and the close reason", async () => {
  const marker = `m${Date.now()}`;
  const argv = `session_command = array['sh','-c','${marker}']`;
  const ws = await s.exec("echo", s.acme.operator, `command=sh&command=-c&command=${marker}&stdin=true&stdout=true`);
  await eventually(async () => assert.equal(await s.stack.auditRows(s.cluster, `${argv} and session_phase = 1 and subresource = 'exec' and caller_id = 'olga' and session_ended_at is null`), 1));
  ws.send(Buffer.concat([Buffer.from([0]), Buffer.alloc(1000, 7)]));
  await eventually(() => assert.equal(Buffer.concat(ws.received).length, 1001));
  ws.close();
  await ws.closed;
  await eventually(async () => assert.equal(await s.stack.auditRows(s.cluster, `${argv} and session_phase = 2 and bytes_in >= 1001 and bytes_out >= 1001 and session_ended_at >= time and session_close_reason <> ''`), 1));
  assert.equal(await s.stack.auditRows(s.cluster, argv), 1, "one row, completed in place");
});

test("idle timeout: a session with no byte either way ends, upstream and client, with the reason in its audit row", async () => {
  const marker = `idle${Date.now()}`;
  const t0 = Date.now();
  const ws = await s.exec("echo", s.acme.operator, `command=${marker}&stdin=true&stdout=true`);
  await ws.closed;
  const took = Date.now() - t0;
  assert.ok(took >= IDLE_MS && took < IDLE_MS + 3_000, `ended after ${took} ms`);
  await eventually(async () => assert.equal(await s.stack.auditRows(s.cluster, `session_command = array['${marker}'] and session_phase = 2 and session_close_reason like '%idle%' and not ok`), 1));
});

// Last: it stops the tunnel-proxy.
test("drain: stopping the tunnel-proxy ends open sessions with a reason and completes their audit rows", async () => {
  const marker = `drain${Date.now()}`;
  const ws = await s.exec("echo", s.acme.operator, `command=${marker}&stdin=true&stdout=true`);
  await eventually(async () => assert.equal(await s.stack.auditRows(s.cluster, `session_command = array['${marker}'] and session_phase = 1`), 1));
  const t0 = Date.now();
  await s.stack.proxy.stop();
  await ws.closed;
  assert.ok(Date.now() - t0 < 2_000, `client closed ${Date.now() - t0} ms after the stop`);
  await eventually(() => assert.equal(s.up.open(), 0));
  await eventually(async () => assert.equal(await s.stack.auditRows(s.cluster, `session_command = array['${marker}'] and session_phase = 2 and session_close_reason = 'the hub is shutting down'`), 1));
});
