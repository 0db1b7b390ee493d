import { test } from "node:test";
import assert from "node:assert/strict";
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { edgev1 } from "@daalu/proto";
import { bindGrpc, grpc } from "@daalu/runtime";
import { EdgeClients } from "./edge-client.js";
import type { EdgeProxyCall } from "./mux-client.js";
import { decodeMuxResponse, decodeProxyResponse, type HeadIn } from "./mux-decode.js";

type Init = MessageInitShape<typeof edgev1.ProxyMuxResponseSchema>;
const encode = (m: Init) => toBinary(edgev1.ProxyMuxResponseSchema, create(edgev1.ProxyMuxResponseSchema, m));

/** Plain data of a message (no $typeName, no $unknown); a head as the ProxyHead its bytes decode to. */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v);
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === "object") {
    if ("bytes" in v && "status" in v && !("$typeName" in v)) {
      const h = fromBinary(edgev1.ProxyHeadSchema, (v as HeadIn).bytes);
      assert.equal((v as HeadIn).status, h.status, "the status beside the bytes is theirs");
      return plain(h);
    }
    return Object.fromEntries(
      Object.entries(v)
        .filter(([k, x]) => !k.startsWith("$") && x !== undefined)
        .map(([k, x]) => [k, plain(x)]),
    );
  }
  return v;
}
/** protobuf-es's reading of the same bytes. */
const reference = (bytes: Uint8Array): unknown => plain(fromBinary(edgev1.ProxyMuxResponseSchema, bytes));

const head = {
  status: 200,
  headers: [
    { name: "content-type", value: "application/json" },
    { name: "warning", value: '299 - "ünïcode ☃"' },
    { name: "", value: "" },
  ],
};
const body = new TextEncoder().encode('{"kind":"PodList","items":[]}');

const frames: Record<string, Uint8Array> = {
  hello: encode({ frame: { case: "hello", value: { edgeVersion: "0.9.1-ü" } } }),
  "hello, no version": encode({ frame: { case: "hello", value: {} } }),
  head: encode({ callId: 7, frame: { case: "head", value: head } }),
  "head, status only": encode({ callId: 4_294_967_295, frame: { case: "head", value: { status: 404 } } }),
  "head, empty": encode({ callId: 1, frame: { case: "head", value: {} } }),
  chunk: encode({ callId: 300_000, frame: { case: "chunk", value: { data: body } } }),
  "chunk, empty": encode({ callId: 3, frame: { case: "chunk", value: {} } }),
  end: encode({ callId: 9, frame: { case: "end", value: {} } }),
  error: encode({ callId: 9, frame: { case: "error", value: { code: 7, message: "target not allowed: ☃" } } }),
  "error, defaults": encode({ callId: 9, frame: { case: "error", value: {} } }),
  reply: encode({ callId: 12, frame: { case: "reply", value: { head, body } } }),
  "reply without body": encode({ callId: 12, frame: { case: "reply", value: { head: { status: 204 } } } }),
  "reply without head": encode({ callId: 12, frame: { case: "reply", value: { body } } }),
  "no frame": encode({ callId: 5 }),
  empty: new Uint8Array(0),
};

test("every frame the edge sends decodes to what protobuf-es's fromBinary reads", () => {
  for (const [name, bytes] of Object.entries(frames)) {
    assert.deepEqual(plain(decodeMuxResponse(Buffer.from(bytes))), reference(bytes), name);
    // A Uint8Array that is not a Buffer, at an offset in its ArrayBuffer, reads the same.
    const padded = new Uint8Array(bytes.length + 3);
    padded.set(bytes, 3);
    assert.deepEqual(plain(decodeMuxResponse(padded.subarray(3))), reference(bytes), `${name} (offset view)`);
  }
});

test("the head's bytes are forwarded as they came: they decode to the same ProxyHead, and are the edge's encoding", () => {
  const got = decodeMuxResponse(frames.head!);
  assert.equal(got.frame.case, "head");
  const h = got.frame.case === "head" ? got.frame.value : undefined;
  assert.equal(h?.status, 200);
  assert.deepEqual(Buffer.from(h!.bytes), Buffer.from(toBinary(edgev1.ProxyHeadSchema, create(edgev1.ProxyHeadSchema, head))));
  const r = decodeMuxResponse(frames.reply!);
  assert.deepEqual(plain(fromBinary(edgev1.ProxyHeadSchema, r.frame.case === "reply" ? r.frame.value.head!.bytes : new Uint8Array(1))), plain(create(edgev1.ProxyHeadSchema, head)));
});

test("ProxyResponse (the Proxy path) decodes as fromBinary reads it", () => {
  const enc = (m: MessageInitShape<typeof edgev1.ProxyResponseSchema>) => toBinary(edgev1.ProxyResponseSchema, create(edgev1.ProxyResponseSchema, m));
  for (const bytes of [enc({ frame: { case: "head", value: head } }), enc({ frame: { case: "chunk", value: { data: body } } }), enc({}), enc({ frame: { case: "head", value: {} } })]) {
    assert.deepEqual(plain(decodeProxyResponse(bytes)), plain(fromBinary(edgev1.ProxyResponseSchema, bytes)));
  }
  assert.throws(() => decodeProxyResponse(enc({ frame: { case: "head", value: head } }).subarray(0, 10)));
});

test("unknown fields of every message are skipped, whatever their wire type", () => {
  const unknowns = (x: BinaryWriter) => {
    x.tag(90, WireType.Varint).uint64(2n ** 63n);
    x.tag(91, WireType.Bit64).fixed64(1n);
    x.tag(92, WireType.Bit32).fixed32(1);
    x.tag(93, WireType.LengthDelimited).string("from a newer edge");
    x.tag(94, WireType.StartGroup).tag(1, WireType.Varint).uint32(1).tag(94, WireType.EndGroup);
  };
  const header = (w: BinaryWriter, name: string, value: string) => {
    w.tag(2, WireType.LengthDelimited).fork();
    unknowns(w);
    w.tag(1, WireType.LengthDelimited).string(name).tag(2, WireType.LengthDelimited).string(value).join();
  };
  const headMsg = (w: BinaryWriter) => {
    unknowns(w);
    w.tag(1, WireType.Varint).uint32(201);
    header(w, "content-type", "application/json");
  };
  const frame = (field: number, inner: (w: BinaryWriter) => void) => {
    const w = new BinaryWriter();
    unknowns(w);
    w.tag(1, WireType.Varint).uint32(11).tag(field, WireType.LengthDelimited).fork();
    unknowns(w);
    inner(w);
    return w.join().finish();
  };
  const cases = {
    hello: frame(2, (w) => w.tag(1, WireType.LengthDelimited).string("1.0")),
    head: frame(3, headMsg),
    chunk: frame(4, (w) => w.tag(1, WireType.LengthDelimited).bytes(body)),
    end: frame(5, () => undefined),
    error: frame(6, (w) => w.tag(1, WireType.Varint).uint32(14).tag(2, WireType.LengthDelimited).string("gone")),
    reply: frame(7, (w) => {
      w.tag(1, WireType.LengthDelimited).fork();
      headMsg(w);
      w.join().tag(2, WireType.LengthDelimited).bytes(body);
    }),
  };
  for (const [name, bytes] of Object.entries(cases)) {
    const got = decodeMuxResponse(bytes);
    assert.equal(got.frame.case, name);
    assert.deepEqual(plain(got), reference(bytes), name);
  }
});

test("a message repeated in a frame merges as protobuf-es merges it; the last oneof case wins", () => {
  const cat = (...parts: Uint8Array[]) => Buffer.concat(parts);
  const h1 = encode({ callId: 2, frame: { case: "head", value: { status: 200, headers: [{ name: "a", value: "1" }] } } });
  const h2 = encode({ frame: { case: "head", value: { headers: [{ name: "b", value: "2" }] } } });
  const h3 = encode({ frame: { case: "head", value: { status: 500 } } });
  const r1 = encode({ callId: 2, frame: { case: "reply", value: { head: { status: 200, headers: [{ name: "a", value: "1" }] }, body } } });
  const r2 = encode({ frame: { case: "reply", value: { head: { status: 201 } } } });
  const c = encode({ frame: { case: "chunk", value: { data: body } } });
  const e = encode({ frame: { case: "error", value: { code: 2 } } });
  for (const bytes of [cat(h1, h2), cat(h1, h3, h2), cat(h1, c), cat(c, h1), cat(h1, c, h2), cat(r1, r2), cat(e, encode({ frame: { case: "error", value: { message: "x" } } }))]) {
    assert.deepEqual(plain(decodeMuxResponse(bytes)), reference(bytes));
  }
});

test("malformed bytes give a 'malformed' frame with the reason and the call id read before the damage, never an exception", () => {
  const reply = frames.reply!;
  const raw = (f: (w: BinaryWriter) => void) => {
    const w = new BinaryWriter();
    w.tag(1, WireType.Varint).uint32(1);
    f(w);
    return w.finish();
  };
  const bad: Record<string, Uint8Array> = {
    "reply cut short": reply.subarray(0, reply.length - 5),
    "head cut short": frames.head!.subarray(0, frames.head!.length - 3),
    "cut in the call id": Uint8Array.of(0x08, 0x80),
    "length past the end": Uint8Array.of(0x08, 0x01, 0x1a, 0x7f, 0x08),
    "field number 0": Uint8Array.of(0x00, 0x01),
    "wire type 7": Uint8Array.of(0x0f),
    "varint of 11 bytes": Uint8Array.of(0x08, ...new Array<number>(10).fill(0xff), 0x01),
    "call id as a string": Uint8Array.of(0x0a, 0x01, 0x41),
    "invalid UTF-8 in a header": raw((w) => w.tag(3, WireType.LengthDelimited).bytes(Uint8Array.of(0x12, 0x04, 0x0a, 0x02, 0xc3, 0x28))),
    "invalid UTF-8 in an error": raw((w) => w.tag(6, WireType.LengthDelimited).bytes(Uint8Array.of(0x12, 0x02, 0xc3, 0x28))),
    "unterminated group": Uint8Array.of(0x08, 0x01, 0xf3, 0x05),
    "group ended by another field": Uint8Array.of(0x08, 0x01, 0xf3, 0x05, 0xfc, 0x05),
  };
  for (const [name, bytes] of Object.entries(bad)) {
    const got = decodeMuxResponse(bytes);
    assert.equal(got.frame.case, "malformed", name);
    assert.match(got.frame.case === "malformed" ? got.frame.value.message : "", /^malformed ProxyMuxResponse at byte \d+: /, name);
    assert.throws(() => fromBinary(edgev1.ProxyMuxResponseSchema, bytes), Error, `protobuf-es refuses ${name} too`);
  }
  // The call id read before the damage is kept, so only that call fails.
  assert.equal(decodeMuxResponse(reply.subarray(0, reply.length - 5)).callId, 12);
  assert.equal(decodeMuxResponse(bad["invalid UTF-8 in a header"]!).callId, 1);
});

test("on a ProxyMux stream, a frame that does not decode fails the call it names and tells the edge; the other calls go on", async () => {
  const MUX = `/${edgev1.EdgeService.typeName}/${edgev1.EdgeService.method.proxyMux.name}`;
  const cancels: number[] = [];
  // An edge that answers "/bad" with a damaged frame (a head cut short), "/api" whole (one MuxReply), "/die" with a damaged frame that names no call, "/hold" never.
  const server = new grpc.Server();
  server.register(
    MUX,
    (stream: grpc.ServerDuplexStream<edgev1.ProxyMuxRequest, Uint8Array>) => {
      stream.on("data", (f: edgev1.ProxyMuxRequest) => {
        if (f.frame.case === "cancel") cancels.push(f.callId);
        if (f.frame.case !== "open") return;
        const path = f.frame.value.request?.path;
        if (path === "/die") stream.write(Uint8Array.of(0x1a, 0x7f, 0x08));
        else if (path === "/bad") stream.write(encode({ callId: f.callId, frame: { case: "head", value: head } }).subarray(0, 12));
        else if (path === "/api") stream.write(encode({ callId: f.callId, frame: { case: "reply", value: { head, body } } }));
      });
      stream.on("error", () => undefined);
      stream.write(encode({ frame: { case: "hello", value: { edgeVersion: "test" } } }));
    },
    (b: Uint8Array) => Buffer.from(b),
    (b: Buffer) => fromBinary(edgev1.ProxyMuxRequestSchema, b),
    "bidi",
  );
  const addr = `127.0.0.1:${await bindGrpc(server, "127.0.0.1:0")}`;
  const edges = new EdgeClients();
  try {
    const req = (path: string) => toBinary(edgev1.ProxyRequestSchema, create(edgev1.ProxyRequestSchema, { target: "kubernetes", method: "GET", path }));
    const read = (call: EdgeProxyCall) =>
      new Promise<{ status: number; body: number }>((resolve, reject) => {
        let status = 0;
        let n = 0;
        call.on("data", (m) => {
          if (m.frame.case === "head") status = m.frame.value.status;
          if (m.frame.case === "chunk") n += m.frame.value.data.length;
        });
        call.on("end", () => resolve({ status, body: n }));
        call.on("error", reject);
      });
    const calls = await Promise.all(["/bad", "/api", "/bad", "/api"].map((p) => edges.proxy(addr, req(p), () => new grpc.Metadata(), Date.now() + 10_000)));
    const results = await Promise.allSettled(calls.map(read));
    for (const [i, r] of results.entries()) {
      if (i % 2 === 0) assert.equal(r.status === "rejected" && (r.reason as grpc.ServiceError).code, grpc.status.INTERNAL, `call ${i + 1}`);
      else assert.deepEqual(r.status === "fulfilled" && r.value, { status: 200, body: body.length }, `call ${i + 1}`);
    }
    assert.match(results[0]!.status === "rejected" ? (results[0]!.reason as Error).message : "", /malformed ProxyMuxResponse at byte \d+/);
    // The edge was told to stop the damaged calls.
    for (let i = 0; i < 1000 && cancels.length < 2; i++) await new Promise((r) => setImmediate(r));
    assert.deepEqual(cancels.sort(), [1, 3]);
    // A damaged frame that names no call: the stream goes (UNAVAILABLE), as a failed parse took it before; the next call opens a new one.
    const waiting = read(await edges.proxy(addr, req("/hold"), () => new grpc.Metadata(), undefined));
    await assert.rejects(read(await edges.proxy(addr, req("/die"), () => new grpc.Metadata(), undefined)), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE);
    await assert.rejects(waiting, (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE);
    assert.deepEqual(await read(await edges.proxy(addr, req("/api"), () => new grpc.Metadata(), Date.now() + 10_000)), { status: 200, body: body.length });
  } finally {
    edges.close();
    server.forceShutdown();
  }
});
