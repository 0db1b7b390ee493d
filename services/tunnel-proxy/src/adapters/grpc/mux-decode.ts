/**
 * The edge's answers decoded by hand: every ProxyMuxResponse frame (ProxyMux)
 * and every ProxyResponse (Proxy, edges of the previous contract). protobuf-es's
 * reflective fromBinary of each frame, and the create() of the messages the
 * handler was given, were a visible share of the hub's CPU per call
 * (docs/performance.md). Field numbers: proto/daalu/edge/v1/edge.proto.
 *
 * The head is not rebuilt: its bytes as they came (a view of the frame) go to
 * the NATS reply as they are, with the status the audit record needs beside
 * them. Its headers are walked and checked (tags, lengths, UTF-8) but never
 * turned into strings. Everything else holds what fromBinary gives for the
 * same bytes (pinned by mux-decode.test.ts); unknown fields are skipped.
 *
 * decodeMuxResponse never throws: bytes that do not decode give
 * `frame.case === "malformed"` with the reason and the call id read before
 * the damage, so mux-client.ts fails that call only. decodeProxyResponse
 * throws (grpc-js then fails that Proxy call with INTERNAL).
 */
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";

/** ProxyHead: its encoding as it came, and its status. */
export interface HeadIn {
  status: number;
  bytes: Uint8Array;
}

export type ProxyFrameIn = { case: "head"; value: HeadIn } | { case: "chunk"; value: { data: Uint8Array } } | { case: undefined; value?: undefined };

/** A ProxyResponse, as the NATS handler reads it on either path. */
export interface ProxyResponseIn {
  frame: ProxyFrameIn;
}

export type MuxFrameIn =
  | ProxyFrameIn
  | { case: "hello"; value: { edgeVersion: string } }
  | { case: "end"; value: Record<string, never> }
  | { case: "error"; value: { code: number; message: string } }
  | { case: "reply"; value: { head: HeadIn | undefined; body: Uint8Array } }
  | { case: "malformed"; value: Error };

export interface MuxResponseIn {
  callId: number;
  frame: MuxFrameIn;
}

const EMPTY = new Uint8Array(0);
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** A reader over one frame (a Buffer or any Uint8Array view) that lends views of it. */
class FrameReader extends BinaryReader {
  constructor(readonly data: Uint8Array) {
    super(data);
  }
}

/** Checks a known field's wire type; a mismatch is refused (it would be misread). */
function expect(no: number, wt: WireType, want: WireType): void {
  if (wt !== want) throw new Error(`field ${no} has wire type ${wt}, expected ${want}`);
}

/** Where a length-delimited field that starts here ends; refused past `end`. */
function delimited(r: FrameReader, end: number): number {
  const stop = r.uint32() + r.pos;
  if (stop > end) throw new Error("length past the end of the message");
  return stop;
}

/** After the fields of a message: the last one must end where the message does. */
function ended(r: FrameReader, end: number): void {
  if (r.pos !== end) throw new Error("a field runs past the end of its message");
}

/** UTF-8 text, refusing invalid sequences as protobuf-es does for proto3 strings. */
function utf8(b: Uint8Array): string {
  try {
    return strictUtf8.decode(b);
  } catch {
    throw new Error("a string is not valid UTF-8");
  }
}

/** A string's bytes checked as UTF-8 and not decoded; ASCII (all of HTTP) takes the fast path. */
function checkUtf8(b: Uint8Array): void {
  for (let i = 0; i < b.length; i++) {
    if (b[i]! > 0x7f) {
      utf8(b);
      return;
    }
  }
}

/** A string field (MuxHello.edge_version, MuxError.message: rare, short). */
function string(r: FrameReader, end: number): string {
  return utf8(bytes(r, end));
}

function bytes(r: FrameReader, end: number): Uint8Array {
  const stop = delimited(r, end);
  const v = stop === r.pos ? EMPTY : r.data.subarray(r.pos, stop);
  r.pos = stop;
  return v;
}

/** Skips a field of an unknown number, bounded by its message. */
function skip(r: FrameReader, no: number, wt: WireType, end: number): void {
  r.skip(wt, no);
  if (r.pos > end) throw new Error("a field runs past the end of its message");
}

/** ProxyHeader{name = 1, value = 2}: walked and checked, not kept. */
function checkHeader(r: FrameReader, end: number): void {
  while (r.pos < end) {
    const [no, wt] = r.tag();
    if (no === 1 || no === 2) {
      expect(no, wt, WireType.LengthDelimited);
      checkUtf8(bytes(r, end));
    } else skip(r, no, wt, end);
  }
  ended(r, end);
}

/**
 * ProxyHead{status = 1, headers = 2} in r.buf[r.pos, end). A head merged into
 * an earlier one of the same frame (protobuf's merge) is the two encodings
 * concatenated, which decode as the merge.
 */
function readHead(r: FrameReader, end: number, prev: HeadIn | undefined): HeadIn {
  const start = r.pos;
  let status = prev?.status ?? 0;
  while (r.pos < end) {
    const [no, wt] = r.tag();
    if (no === 1) {
      expect(no, wt, WireType.Varint);
      status = r.uint32();
    } else if (no === 2) {
      expect(no, wt, WireType.LengthDelimited);
      checkHeader(r, delimited(r, end));
    } else skip(r, no, wt, end);
  }
  ended(r, end);
  const own = start === end ? EMPTY : r.data.subarray(start, end);
  return { status, bytes: prev && prev.bytes.length > 0 ? Buffer.concat([prev.bytes, own]) : own };
}

/** A message without fields we read (MuxEnd): its unknown fields skipped. */
function skipAll(r: FrameReader, end: number): void {
  while (r.pos < end) {
    const [no, wt] = r.tag();
    skip(r, no, wt, end);
  }
  ended(r, end);
}

/** A message whose only field is 1 (ProxyChunk.data, MuxHello.edge_version). */
function readSingle<T>(r: FrameReader, end: number, read: () => T, value: T): T {
  while (r.pos < end) {
    const [no, wt] = r.tag();
    if (no === 1) {
      expect(no, wt, WireType.LengthDelimited);
      value = read();
    } else skip(r, no, wt, end);
  }
  ended(r, end);
  return value;
}

/** MuxError{code = 1, message = 2}. */
function readError(r: FrameReader, end: number, e: { code: number; message: string }): { code: number; message: string } {
  while (r.pos < end) {
    const [no, wt] = r.tag();
    if (no === 1) {
      expect(no, wt, WireType.Varint);
      e.code = r.uint32();
    } else if (no === 2) {
      expect(no, wt, WireType.LengthDelimited);
      e.message = string(r, end);
    } else skip(r, no, wt, end);
  }
  ended(r, end);
  return e;
}

/** MuxReply{head = 1, body = 2}. */
function readReply(r: FrameReader, end: number, into: { head: HeadIn | undefined; body: Uint8Array } | undefined): { head: HeadIn | undefined; body: Uint8Array } {
  const m = into ?? { head: undefined, body: EMPTY };
  while (r.pos < end) {
    const [no, wt] = r.tag();
    if (no === 1) {
      expect(no, wt, WireType.LengthDelimited);
      m.head = readHead(r, delimited(r, end), m.head);
    } else if (no === 2) {
      expect(no, wt, WireType.LengthDelimited);
      m.body = bytes(r, end);
    } else skip(r, no, wt, end);
  }
  ended(r, end);
  return m;
}

/** The head (field `headNo`) or chunk (`headNo + 1`) of a ProxyResponse or ProxyMuxResponse; merged into `f` when it is the same case. */
function readProxyFrame(r: FrameReader, no: number, headNo: number, end: number, f: MuxFrameIn): ProxyFrameIn {
  const stop = delimited(r, end);
  if (no === headNo) return { case: "head", value: readHead(r, stop, f.case === "head" ? f.value : undefined) };
  return { case: "chunk", value: { data: readSingle(r, stop, () => bytes(r, stop), f.case === "chunk" ? f.value.data : EMPTY) } };
}

/** One ProxyResponse{head = 1, chunk = 2} of a Proxy call (grpc-js's deserializer). Throws on bytes that do not decode. */
export function decodeProxyResponse(b: Uint8Array): ProxyResponseIn {
  const r = new FrameReader(b);
  const end = b.length;
  let frame: ProxyFrameIn = { case: undefined };
  while (r.pos < end) {
    const [no, wt] = r.tag();
    if (no === 1 || no === 2) {
      expect(no, wt, WireType.LengthDelimited);
      frame = readProxyFrame(r, no, 1, end, frame);
    } else skip(r, no, wt, end);
  }
  return { frame };
}

/** One ProxyMuxResponse (grpc-js's deserializer of ProxyMux). Never throws. */
export function decodeMuxResponse(b: Uint8Array): MuxResponseIn {
  const r = new FrameReader(b);
  const end = b.length;
  const m: MuxResponseIn = { callId: 0, frame: { case: undefined } };
  try {
    while (r.pos < end) {
      const [no, wt] = r.tag();
      const f = m.frame;
      if (no === 1) {
        expect(no, wt, WireType.Varint);
        m.callId = r.uint32();
        continue;
      }
      if (no < 2 || no > 7) {
        skip(r, no, wt, end);
        continue;
      }
      expect(no, wt, WireType.LengthDelimited);
      if (no === 3 || no === 4) {
        m.frame = readProxyFrame(r, no, 3, end, f);
        continue;
      }
      const stop = delimited(r, end);
      if (no === 2) m.frame = { case: "hello", value: { edgeVersion: readSingle(r, stop, () => string(r, stop), f.case === "hello" ? f.value.edgeVersion : "") } };
      else if (no === 5) {
        skipAll(r, stop);
        m.frame = { case: "end", value: {} };
      }
      else if (no === 6) m.frame = { case: "error", value: readError(r, stop, f.case === "error" ? f.value : { code: 0, message: "" }) };
      else m.frame = { case: "reply", value: readReply(r, stop, f.case === "reply" ? f.value : undefined) };
    }
  } catch (err) {
    m.frame = { case: "malformed", value: new Error(`malformed ProxyMuxResponse at byte ${r.pos}: ${err instanceof Error ? err.message : String(err)}`) };
  }
  return m;
}
