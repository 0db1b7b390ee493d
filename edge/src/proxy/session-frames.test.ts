import { test } from "node:test";
import assert from "node:assert/strict";
import { create, toBinary } from "@bufbuild/protobuf";
import { edgev1 } from "@daalu/proto";
import { sessionDataFrame } from "./session-frames.js";

// The hand-written data frame must be exactly what protobuf-es writes, at every varint length boundary.
test("sessionDataFrame is byte for byte what toBinary writes", () => {
  for (const n of [0, 1, 125, 126, 127, 128, 16_381, 16_382, 16_383, 16_384, 262_144, 2_097_149, 2_097_152]) {
    const data = Buffer.alloc(n);
    for (let i = 0; i < n; i++) data[i] = (i * 7 + 3) & 0xff;
    const want = toBinary(edgev1.SessionResponseSchema, create(edgev1.SessionResponseSchema, { frame: { case: "data", value: { data } } }));
    assert.ok(sessionDataFrame(data).equals(want), `${n} bytes`);
  }
});
