import { test } from "node:test";
import assert from "node:assert/strict";
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { auditv1, CallerKind } from "@daalu/proto";
import { encodeCallRecord, encodeCallRecordBatch } from "./record-wire.js";

type Init = MessageInitShape<typeof auditv1.CallRecordSchema>;

const full: Init = {
  id: "4f1c2a4e-9a55-4d57-9d1e-3c1f7a0b2e11",
  tenantId: "acme",
  clusterId: "c0ffee00-0000-4000-8000-000000000000",
  caller: { kind: CallerKind.USER, id: "alice@example.com" },
  operation: { verb: "list", resource: "pods", namespace: "shop", name: "", path: "/api/v1/namespaces/shop/pods", subresource: "", apiGroup: "" },
  outcome: { statusCode: 200, error: "", ok: true },
  latencyMs: 3,
  bytesIn: 0n,
  bytesOut: 2048n,
  traceId: "0123456789abcdef0123456789abcdef",
  time: { seconds: 1_796_320_000n, nanos: 123_000_000 },
};

const cases: [string, Init][] = [
  ["a proxied list", full],
  ["an empty record", {}],
  ["present but empty submessages", { caller: {}, operation: {}, outcome: {}, time: {} }],
  ["no submessages", { id: "x", tenantId: "t", clusterId: "c", latencyMs: 0 }],
  ["a refused call with an error", { ...full, outcome: { statusCode: 503, error: "the edge is not connected — try again", ok: false }, caller: { kind: CallerKind.ASSISTANT, id: "" } }],
  ["non-ASCII strings", { ...full, caller: { kind: CallerKind.USER, id: "José Ñandú 山田 🚀" }, operation: { verb: "get", name: "café", path: "/api/v1/namespaces/ü/configmaps/café", namespace: "ü" } }],
  ["every operation field", { ...full, operation: { verb: "patch", resource: "deployments", namespace: "prod", name: "web", path: "/apis/apps/v1/namespaces/prod/deployments/web/scale", subresource: "scale", apiGroup: "apps" } }],
  ["large counters and latency", { ...full, latencyMs: 4_000_000_000, bytesIn: 2n ** 40n + 7n, bytesOut: BigInt(Number.MAX_SAFE_INTEGER) }],
  ["long strings (multi-byte lengths)", { ...full, id: "i".repeat(200), operation: { path: `/api/v1/${"p".repeat(20_000)}` }, outcome: { error: "e".repeat(70_000) } }],
  ["a time at the epoch, nanos only", { ...full, time: { seconds: 0n, nanos: 999_999_999 } }],
  ["a time far ahead", { ...full, time: { seconds: 253_402_300_799n, nanos: 0 } }],
];

for (const [name, init] of cases) {
  test(`CallRecord by hand = toBinary: ${name}`, () => {
    const r = create(auditv1.CallRecordSchema, init);
    const want = toBinary(auditv1.CallRecordSchema, r);
    const got = encodeCallRecord(r);
    assert.deepEqual(Buffer.from(got), Buffer.from(want));
    assert.deepEqual(fromBinary(auditv1.CallRecordSchema, got), r);
  });
}

test("what the hand encoder does not cover goes to toBinary, with the same bytes", () => {
  const session = create(auditv1.CallRecordSchema, { ...full, session: { sessionId: "s1", phase: auditv1.SessionPhase.START, command: ["sh", "-c", "ls"], ports: ["8080"] } });
  const before1970 = create(auditv1.CallRecordSchema, { ...full, time: { seconds: -5n, nanos: 1 } });
  const huge = create(auditv1.CallRecordSchema, { ...full, bytesOut: 2n ** 60n });
  const negativeKind = create(auditv1.CallRecordSchema, { ...full, caller: { kind: -1 as CallerKind, id: "x" } });
  for (const r of [session, before1970, huge, negativeKind]) {
    assert.deepEqual(Buffer.from(encodeCallRecord(r)), Buffer.from(toBinary(auditv1.CallRecordSchema, r)));
  }
  // Unknown fields (a record decoded from a newer publisher) are kept, as toBinary keeps them.
  const newer = new Uint8Array([...toBinary(auditv1.CallRecordSchema, create(auditv1.CallRecordSchema, full)), (15 << 3) | 0, 1]);
  const decoded = fromBinary(auditv1.CallRecordSchema, newer);
  assert.deepEqual(Buffer.from(encodeCallRecord(decoded)), Buffer.from(toBinary(auditv1.CallRecordSchema, decoded)));
});

test("CallRecordBatch by hand = toBinary, for one, several and mixed records", () => {
  const rs = cases.map(([, init]) => create(auditv1.CallRecordSchema, init));
  rs.push(create(auditv1.CallRecordSchema, { ...full, session: { sessionId: "s2", phase: auditv1.SessionPhase.END } }));
  for (const group of [rs.slice(0, 1), rs.slice(0, 3), rs]) {
    const want = toBinary(auditv1.CallRecordBatchSchema, create(auditv1.CallRecordBatchSchema, { records: group }));
    assert.deepEqual(Buffer.from(encodeCallRecordBatch(group)), Buffer.from(want));
  }
});
