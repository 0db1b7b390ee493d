import { test } from "node:test";
import assert from "node:assert/strict";
import { create, toBinary } from "@bufbuild/protobuf";
import { edgev1 } from "@daalu/proto";
import { chunkFrame, endFrame, errorFrame, headFrame, helloFrame, replyFrame } from "./mux-frames.js";

// The hand-written encoder must write exactly what protobuf-es writes for the same ProxyMuxResponse.
const encode = (m: Parameters<typeof create<typeof edgev1.ProxyMuxResponseSchema>>[1]) => toBinary(edgev1.ProxyMuxResponseSchema, create(edgev1.ProxyMuxResponseSchema, m));
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
