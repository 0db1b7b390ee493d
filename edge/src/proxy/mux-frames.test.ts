import { test } from "node:test";
import assert from "node:assert/strict";
import { create, toBinary } from "@bufbuild/protobuf";
import { edgev1 } from "@daalu/proto";
import { chunkFrame, endFrame, errorFrame, headFrame, helloFrame, replyFrame } from "./mux-frames.js";

// The hand-written encoder must write exactly what protobuf-es writes for the same ProxyMuxResponse.
const encode = (m: Parameters<typeof create<typeof edgev1.ProxyMuxResponseSchema>>[1]) => Buffer.from(toBinary(edgev1.ProxyMuxResponseSchema, create(edgev1.ProxyMuxResponseSchema, m)));
const headers = [
  { name: "content-type", value: "application/json" },
  { name: "audit-id", value: "ä-ünïcode" },
  { name: "warning", value: "" },
];

test("every frame is byte for byte what toBinary writes", () => {
  const body = new TextEncoder().encode(JSON.stringify({ kind: "PodList", items: [] }));
  assert.deepEqual(helloFrame("1.2.3"), encode({ callId: 0, frame: { case: "hello", value: { edgeVersion: "1.2.3" } } }));
  assert.deepEqual(headFrame(7, 200, headers), encode({ callId: 7, frame: { case: "head", value: { status: 200, headers } } }));
  assert.deepEqual(chunkFrame(300_000, body), encode({ callId: 300_000, frame: { case: "chunk", value: { data: body } } }));
  assert.deepEqual(chunkFrame(1, new Uint8Array()), encode({ callId: 1, frame: { case: "chunk", value: {} } }));
  assert.deepEqual(endFrame(4_294_967_295), encode({ callId: 4_294_967_295, frame: { case: "end", value: {} } }));
  assert.deepEqual(errorFrame(9, 14, "the API server is unreachable"), encode({ callId: 9, frame: { case: "error", value: { code: 14, message: "the API server is unreachable" } } }));
  assert.deepEqual(replyFrame(2, 403, headers, body), encode({ callId: 2, frame: { case: "reply", value: { head: { status: 403, headers }, body } } }));
  assert.deepEqual(replyFrame(2, 204, [], new Uint8Array()), encode({ callId: 2, frame: { case: "reply", value: { head: { status: 204 } } } }));
});

test("lengths and ids of every varint width, defaults and non-ASCII text encode as toBinary does", () => {
  const long = "x".repeat(200) + "☃ \ud800"; // a lone surrogate: both write U+FFFD
  const manyHeaders = Array.from({ length: 40 }, (_, i) => ({ name: `h-${i}`, value: long }));
  const bodies = [0, 1, 127, 128, 16_383, 16_384, 2_097_152].map((n) => Buffer.alloc(n, 7));
  for (const callId of [0, 1, 127, 128, 16_384, 2 ** 21, 2 ** 28, 2 ** 32 - 1]) {
    for (const body of bodies) {
      assert.deepEqual(chunkFrame(callId, body), encode({ callId, frame: { case: "chunk", value: { data: body } } }));
      assert.deepEqual(replyFrame(callId, 200, manyHeaders, body), encode({ callId, frame: { case: "reply", value: { head: { status: 200, headers: manyHeaders }, body } } }));
    }
    assert.deepEqual(headFrame(callId, 0, [{ name: "", value: "" }]), encode({ callId, frame: { case: "head", value: { status: 0, headers: [{ name: "", value: "" }] } } }));
    assert.deepEqual(endFrame(callId), encode({ callId, frame: { case: "end", value: {} } }));
    assert.deepEqual(errorFrame(callId, 0, ""), encode({ callId, frame: { case: "error", value: {} } }));
    assert.deepEqual(errorFrame(callId, 16, long), encode({ callId, frame: { case: "error", value: { code: 16, message: long } } }));
  }
  assert.deepEqual(helloFrame(""), encode({ frame: { case: "hello", value: {} } }));
  assert.deepEqual(headFrame(1, 599, manyHeaders), encode({ callId: 1, frame: { case: "head", value: { status: 599, headers: manyHeaders } } }));
});
