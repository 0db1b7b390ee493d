import assert from "node:assert/strict";
import { test } from "node:test";
import { auditRecord, decodeAnswer, decodeCall, encodeAnswer, encodeCall, frame, RECORD_BYTES, unframe } from "./floor-wire.js";

test("a call survives encode and decode, field by field", () => {
  const c = { method: "GET", path: "/api/v1/namespaces/shop/pods?limit=500", accept: "application/json;as=Table;v=v1;g=meta.k8s.io,application/json", userAgent: "kubectl/v1.32.4 (bench)" };
  assert.deepEqual(decodeCall(encodeCall(c)), c);
  assert.deepEqual(decodeCall(new Uint8Array(0)), { method: "", path: "", accept: "", userAgent: "" });
});

test("an answer carries its status and its body", () => {
  const a = decodeAnswer(encodeAnswer(200, Buffer.from('{"kind":"Table"}')));
  assert.equal(a.status, 200);
  assert.equal(a.body.toString(), '{"kind":"Table"}');
  assert.throws(() => decodeAnswer(new Uint8Array(1)), /no status/);
});

test("a frame carries its id (up to 2^32-1) and its payload, read from a view of a larger buffer", () => {
  const payload = encodeAnswer(503, Buffer.from("nope"));
  const f = frame(0xfffffffe, payload);
  const inside = Buffer.concat([Buffer.from("xx"), f]).subarray(2);
  const { id, payload: p } = unframe(inside);
  assert.equal(id, 0xfffffffe);
  assert.deepEqual(decodeAnswer(p), { status: 503, body: Buffer.from("nope") });
  assert.throws(() => unframe(Buffer.alloc(3)), /no id/);
});

test("an audit record is JSON of about RECORD_BYTES", () => {
  const r = auditRecord({ id: "123-4", path: "/api/v1/namespaces/shop/pods", status: 200, bytes: 5123, startedAt: Date.UTC(2026, 0, 1), endedAt: Date.UTC(2026, 0, 1) + 3 });
  assert.equal(r.length, RECORD_BYTES);
  const j = JSON.parse(r.toString()) as { id: string; status: number; duration_ms: number };
  assert.equal(j.id, "123-4");
  assert.equal(j.status, 200);
  assert.equal(j.duration_ms, 3);
  const long = auditRecord({ id: "x", path: `/${"p".repeat(400)}`, status: 200, bytes: 1, startedAt: 0, endedAt: 0 });
  assert.ok(long.length > RECORD_BYTES);
});
