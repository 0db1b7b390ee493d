import { test } from "node:test";
import assert from "node:assert/strict";
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { edgev1 } from "@daalu/proto";
import { decodeMuxRequest } from "./mux-decode.js";

type Init = MessageInitShape<typeof edgev1.ProxyMuxRequestSchema>;
const encode = (m: Init) => toBinary(edgev1.ProxyMuxRequestSchema, create(edgev1.ProxyMuxRequestSchema, m));

/** protobuf-es's reading of the same bytes, as plain data (no $typeName, no $unknown). */
function reference(bytes: Uint8Array): unknown {
  return plain(fromBinary(edgev1.ProxyMuxRequestSchema, bytes));
}
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v);
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).filter(([k, x]) => !k.startsWith("$") && x !== undefined).map(([k, x]) => [k, plain(x)]));
  return v;
}

const request = {
  target: "kubernetes",
  method: "GET",
  path: "/api/v1/namespaces/default/pods?limit=500&labelSelector=app%3Dweb",
  headers: [
    { name: "Accept", value: "application/json;as=Table;v=v1;g=meta.k8s.io,application/json" },
    { name: "User-Agent", value: "kubectl/v1.31.2 (linux/amd64) ünïcode ☃" },
    { name: "", value: "" },
  ],
  timeoutMs: 30_000,
};

const frames: Record<string, Uint8Array> = {
  "open, everything set": encode({ callId: 7, frame: { case: "open", value: { request, windowBytes: 512 * 1024, deadlineMs: 10_000, acceptsReply: true } } }),
  "open with a body": encode({ callId: 4_294_967_295, frame: { case: "open", value: { request: { ...request, method: "POST", body: new TextEncoder().encode('{"kind":"SelfSubjectAccessReview"}') } } } }),
  "open, defaults": encode({ callId: 1, frame: { case: "open", value: {} } }),
  "open, empty request": encode({ callId: 1, frame: { case: "open", value: { request: {} } } }),
  cancel: encode({ callId: 300_000, frame: { case: "cancel", value: { reason: "the caller went away" } } }),
  "cancel, no reason": encode({ callId: 3, frame: { case: "cancel", value: {} } }),
  credit: encode({ callId: 9, frame: { case: "credit", value: { bytes: 8 * 1024 * 1024 } } }),
  "no frame": encode({ callId: 5 }),
  empty: new Uint8Array(0),
};

test("every frame decodes to what protobuf-es's fromBinary reads", () => {
  for (const [name, bytes] of Object.entries(frames)) {
    assert.deepEqual(plain(decodeMuxRequest(Buffer.from(bytes))), reference(bytes), name);
    // A Uint8Array that is not a Buffer, at an offset in its ArrayBuffer, reads the same.
    const padded = new Uint8Array(bytes.length + 3);
    padded.set(bytes, 3);
    assert.deepEqual(plain(decodeMuxRequest(padded.subarray(3))), reference(bytes), `${name} (offset view)`);
  }
});

test("unknown fields of every message are skipped, whatever their wire type", () => {
  const w = new BinaryWriter();
  const unknowns = (x: BinaryWriter) => {
    x.tag(90, WireType.Varint).uint64(2n ** 63n);
    x.tag(91, WireType.Bit64).fixed64(1n);
    x.tag(92, WireType.Bit32).fixed32(1);
    x.tag(93, WireType.LengthDelimited).string("from a newer hub");
    x.tag(94, WireType.StartGroup).tag(1, WireType.Varint).uint32(1).tag(94, WireType.EndGroup);
  };
  unknowns(w);
  w.tag(1, WireType.Varint).uint32(11);
  w.tag(2, WireType.LengthDelimited).fork();
  unknowns(w);
  w.tag(1, WireType.LengthDelimited).fork();
  unknowns(w);
  w.tag(1, WireType.LengthDelimited).string("kubernetes").tag(2, WireType.LengthDelimited).string("GET").tag(3, WireType.LengthDelimited).string("/api");
  w.tag(4, WireType.LengthDelimited).fork();
  unknowns(w);
  w.tag(1, WireType.LengthDelimited).string("accept").tag(2, WireType.LengthDelimited).string("*/*");
  w.join();
  w.join();
  w.tag(2, WireType.Varint).uint32(1024);
  w.join();
  const bytes = w.finish();
  const got = decodeMuxRequest(bytes);
  assert.deepEqual(plain(got), reference(bytes));
  assert.equal(got.frame.case, "open");
  assert.equal(got.frame.case === "open" && got.frame.value.request?.headers[0]?.value, "*/*");
});

test("a repeated field or message merges as protobuf-es merges it; the last oneof case wins", () => {
  const cat = (...parts: Uint8Array[]) => Buffer.concat(parts);
  const a = encode({ callId: 2, frame: { case: "open", value: { request: { target: "kubernetes", headers: [{ name: "a", value: "1" }] }, windowBytes: 10 } } });
  const b = encode({ callId: 3, frame: { case: "open", value: { request: { path: "/api", headers: [{ name: "b", value: "2" }] }, deadlineMs: 5 } } });
  const c = encode({ frame: { case: "credit", value: { bytes: 7 } } });
  for (const bytes of [cat(a, b), cat(a, c), cat(c, a), cat(a, c, b)]) assert.deepEqual(plain(decodeMuxRequest(bytes)), reference(bytes));
});

test("malformed bytes give a 'malformed' frame with the reason, never an exception", () => {
  const open = frames["open, everything set"]!;
  const bad: Record<string, Uint8Array> = {
    "cut short": open.subarray(0, open.length - 5),
    "cut in the call id": Uint8Array.of(0x08, 0x80),
    "length past the end": Uint8Array.of(0x08, 0x01, 0x12, 0x7f, 0x0a),
    "field number 0": Uint8Array.of(0x00, 0x01),
    "wire type 7": Uint8Array.of(0x0f),
    "varint of 11 bytes": Uint8Array.of(0x08, ...new Array<number>(10).fill(0xff), 0x01),
    "call id as a string": Uint8Array.of(0x0a, 0x01, 0x41),
    "invalid UTF-8 in the path": encodeRaw((w) => w.tag(1, WireType.LengthDelimited).bytes(Uint8Array.of(0x1a, 0x02, 0xc3, 0x28))),
    "unterminated group": Uint8Array.of(0x08, 0x01, 0xf3, 0x05),
    "group ended by another field": Uint8Array.of(0xf3, 0x05, 0xfc, 0x05),
  };
  for (const [name, bytes] of Object.entries(bad)) {
    const got = decodeMuxRequest(bytes);
    assert.equal(got.frame.case, "malformed", name);
    assert.match(got.frame.case === "malformed" ? got.frame.value.message : "", /^malformed ProxyMuxRequest at byte \d+: /, name);
    assert.throws(() => fromBinary(edgev1.ProxyMuxRequestSchema, bytes), Error, `protobuf-es refuses ${name} too`);
  }
  // The call id read before the damage is kept, so the stream can answer that call.
  assert.equal(decodeMuxRequest(open.subarray(0, open.length - 5)).callId, 7);
});

/** A ProxyMuxRequest of call 1 whose open frame holds a request written by `body`. */
function encodeRaw(body: (w: BinaryWriter) => void): Uint8Array {
  const w = new BinaryWriter();
  w.tag(1, WireType.Varint).uint32(1).tag(2, WireType.LengthDelimited).fork();
  body(w);
  return w.join().finish();
}
