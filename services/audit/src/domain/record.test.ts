import { test } from "node:test";
import assert from "node:assert/strict";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate, timestampNow } from "@bufbuild/protobuf/wkt";
import { auditv1 } from "@daalu/proto";
import { parseAuditSubject, sessionState, toCallRow, uniqueById } from "./record.js";

/** A plain (not yet created) record init: overrides spread over the valid default. */
type RecordInit = Exclude<MessageInitShape<typeof auditv1.CallRecordSchema>, auditv1.CallRecord>;

function input(over: RecordInit = {}): auditv1.CallRecord {
  return create(auditv1.CallRecordSchema, {
    id: "0190F5D2-7B1C-7A00-8000-000000000001",
    tenantId: "acme",
    clusterId: "c1",
    caller: { kind: 1, id: "alice" },
    operation: { verb: "get", resource: "pods", namespace: "default", name: "web", path: "/api/v1/namespaces/default/pods/web", subresource: "", apiGroup: "" },
    outcome: { statusCode: 200, error: "", ok: true },
    latencyMs: 12,
    bytesIn: 0n,
    bytesOut: 1234n,
    traceId: "0af7651916cd43dd8448eb211c80319c",
    time: timestampFromDate(new Date("2026-11-22T10:15:00.123Z")),
    ...over,
  });
}

test("a valid record becomes a row with a lower-case id", () => {
  const r = toCallRow(input());
  assert.ok(r.ok);
  assert.equal(r.value.id, "0190f5d2-7b1c-7a00-8000-000000000001");
  assert.equal(r.value.bytesOut, 1234);
  assert.equal(r.value.time.toISOString(), "2026-11-22T10:15:00.123Z");
});

test("records that can never be stored are refused with a reason", () => {
  const bad: [RecordInit, RegExp][] = [
    [{ id: "not-a-uuid" }, /UUID/],
    [{ tenantId: "" }, /tenant_id/],
    [{ clusterId: "a.b" }, /cluster_id/],
    [{ time: undefined }, /time is required/],
    [{ time: { seconds: 10n ** 15n } }, /out of range/],
    [{ time: { seconds: -1n } }, /out of range/],
    [{ outcome: { statusCode: 1000, error: "", ok: false } }, /status_code/],
    [{ bytesIn: 2n ** 60n }, /bytes_in/],
  ];
  for (const [over, re] of bad) {
    const r = toCallRow(input(over));
    assert.ok(!r.ok, JSON.stringify(Object.keys(over)));
    assert.match(r.problem, re);
  }
});

test("the subject must agree with the record", () => {
  assert.ok(toCallRow(input(), { tenantId: "acme", clusterId: "c1" }).ok);
  assert.ok(!toCallRow(input(), { tenantId: "other", clusterId: "c1" }).ok);
});

test("NUL characters are removed and long text is cut", () => {
  const r = toCallRow(input({ outcome: { statusCode: 500, error: "bad\u0000" + "x".repeat(10_000), ok: false } }));
  assert.ok(r.ok);
  assert.ok(!r.value.error.includes("\u0000"));
  assert.equal(r.value.error.length, 4096);
});

test("parseAuditSubject reads tenant and cluster with or without a prefix", () => {
  assert.deepEqual(parseAuditSubject("daalu.audit.calls.acme.c1"), { tenantId: "acme", clusterId: "c1" });
  assert.deepEqual(parseAuditSubject("tabc.daalu.audit.calls.acme.c1"), { tenantId: "acme", clusterId: "c1" });
  assert.equal(parseAuditSubject("daalu.events.acme.c1"), undefined);
  assert.equal(parseAuditSubject("daalu.audit.v1.QueryCalls"), undefined);
});

test("uniqueById keeps the first of each id", () => {
  const a = toCallRow(input());
  assert.ok(a.ok);
  const { unique, duplicates } = uniqueById([{ row: a.value, n: 1 }, { row: a.value, n: 2 }]);
  assert.deepEqual(unique.map((u) => u.n), [1]);
  assert.deepEqual(duplicates.map((u) => u.n), [2]);
});

test("session records: the start record's id is the session's, an end record names it; state by phase and age", () => {
  const id = "0b6f3c0e-8e43-4d4a-9d1b-2c3f4a5b6c7d";
  const base = { tenantId: "t", clusterId: "c", time: timestampNow() };
  const start = toCallRow(create(auditv1.CallRecordSchema, { ...base, id, session: { sessionId: id, phase: auditv1.SessionPhase.START, command: ["sh", "-c", "x\u0000"] } }));
  assert.ok(start.ok && start.value.session?.phase === 1 && start.value.session.command[2] === "x");
  const wrongId = toCallRow(create(auditv1.CallRecordSchema, { ...base, id, session: { sessionId: "1b6f3c0e-8e43-4d4a-9d1b-2c3f4a5b6c7d", phase: auditv1.SessionPhase.START } }));
  assert.equal(wrongId.ok, false);
  const end = toCallRow(create(auditv1.CallRecordSchema, { ...base, id: "2b6f3c0e-8e43-4d4a-9d1b-2c3f4a5b6c7d", session: { sessionId: id, phase: auditv1.SessionPhase.END, closeReason: "idle" } }));
  assert.ok(end.ok && end.value.session?.phase === 2 && end.value.session.sessionId === id);
  const t = new Date(1_000_000);
  assert.equal(sessionState(1, t, 1_000_000 + 5, 10), "open");
  assert.equal(sessionState(1, t, 1_000_000 + 11, 10), "interrupted");
  assert.equal(sessionState(2, t, 1_000_000 + 11, 10), "completed");
  assert.equal(sessionState(0, t, 0, 10), undefined);
});
