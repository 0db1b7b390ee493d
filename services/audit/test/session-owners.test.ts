import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { auditv1, CallerKind } from "@daalu/proto";
import { eventually } from "@daalu/testing";
import { createAuditClient } from "../src/client.js";
import { publishOwnerHeartbeat } from "../src/session-owners.js";
import { at, harness, record } from "./helpers.js";

const OWNER_TIMEOUT_MS = 1_000;
const as = { tenantId: "acme", caller: { kind: CallerKind.USER, id: "alice" } };
const operation = { verb: "create", resource: "pods", subresource: "exec", namespace: "default", name: "web", path: "/api/v1/namespaces/default/pods/web/exec?command=sh" };

function start(owner: string, i: number) {
  const id = randomUUID();
  return { id, rec: record("acme", "c1", i, { id, time: at(new Date()), operation, outcome: { statusCode: 0, ok: true }, bytesIn: 0n, bytesOut: 0n, session: { sessionId: id, phase: auditv1.SessionPhase.START, command: ["sh"], hubInstance: owner } }) };
}

test("session owners: the open rows of a tunnel-proxy whose heartbeats stop are marked interrupted at its last beat; a live one's stay open; a late end record still completes the row", async (t) => {
  const { env, publisher } = await harness(t, { AUDIT_SESSION_OWNER_TIMEOUT: `${OWNER_TIMEOUT_MS}ms` });
  const dying = publishOwnerHeartbeat(env.nc, env.prefix, "tp-dying", 200);
  const live = publishOwnerHeartbeat(env.nc, env.prefix, "tp-live", 200);
  t.after(() => (dying.stop(), live.stop()));
  const a = start("tp-dying", 0);
  const b = start("tp-live", 1);
  const late = start("tp-dying", 2);
  for (const s of [a, b, late]) await publisher.publish(s.rec);
  const client = createAuditClient(env.nc, { prefix: env.prefix });
  const stateOf = async (id: string) => (await client.queryCalls({ pageSize: 100 }, as)).calls.find((c) => c.id === id)?.session;
  await eventually(async () => assert.equal((await stateOf(a.id))?.state, auditv1.SessionState.OPEN));
  // Both owners beat through more than a whole timeout: nothing is marked.
  const beating = Date.now();
  await eventually(async () => {
    assert.ok(Date.now() - beating > OWNER_TIMEOUT_MS * 2);
    for (const s of [a, b]) assert.equal((await stateOf(s.id))?.state, auditv1.SessionState.OPEN);
  }, { timeoutMs: 10_000, intervalMs: 200 });

  dying.stop();
  const stopped = Date.now();
  const marked = await eventually(async () => {
    const s = await stateOf(a.id);
    assert.equal(s?.state, auditv1.SessionState.INTERRUPTED);
    return s!;
  }, { timeoutMs: OWNER_TIMEOUT_MS * 4, intervalMs: 100 });
  assert.match(marked.closeReason, /^interrupted: the hub's tunnel-proxy carrying the session stopped \(instance tp-dying/);
  // Whole milliseconds (seconds alone cut up to 999 ms and made this bound flaky in CI).
  const endedAt = timestampMs(marked.endedAt!);
  assert.ok(endedAt <= stopped + 1_000 && endedAt >= stopped - 1_000, "ended at its last heartbeat");
  assert.equal((await stateOf(b.id))?.state, auditv1.SessionState.OPEN, "a live owner's session stays open");
  assert.equal((await stateOf(late.id))?.state, auditv1.SessionState.INTERRUPTED, "every open row of the silent owner");

  // The dying instance's end record arrives after all (it was cut off, not dead): the row says what really happened.
  await publisher.publish(record("acme", "c1", 3, { time: at(new Date()), operation, outcome: { statusCode: 101, ok: true }, session: { sessionId: late.id, phase: auditv1.SessionPhase.END, closeReason: "complete" } }));
  await eventually(async () => {
    const s = await stateOf(late.id);
    assert.equal(s?.state, auditv1.SessionState.COMPLETED);
    assert.equal(s?.closeReason, "complete");
  });
});
