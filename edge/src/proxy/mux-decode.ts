/**
 * ProxyMuxRequest frames from the hub, decoded by hand: every proxied call
 * starts with one (MuxOpen with the ProxyRequest in it), and protobuf-es's
 * reflective fromBinary was a visible share of the edge's CPU per call. The
 * result holds the fields protobuf-es's fromBinary gives for the same bytes
 * (pinned by mux-decode.test.ts), without `$typeName` and unknown fields
 * (skipped, as an older edge skips a newer hub's fields). Field numbers:
 * proto/daalu/edge/v1/edge.proto.
 *
 * Never throws: bytes that do not decode (truncated, a bad tag or wire type,
 * invalid UTF-8 in a string) give `frame.case === "malformed"` with the
 * reason and whatever call id was read before it, so the stream answers that
 * call with an error instead of grpc-js ending the whole stream.
 */

export interface MuxHeaderIn {
  name: string;
  value: string;
}

/** ProxyRequest's fields. */
export interface ProxyRequestIn {
  target: string;
  method: string;
  path: string;
  headers: MuxHeaderIn[];
  body: Uint8Array;
  timeoutMs: number;
}

export interface MuxOpenIn {
  request: ProxyRequestIn | undefined;
  windowBytes: number;
  deadlineMs: number;
  acceptsReply: boolean;
}

export type MuxFrameIn =
  | { case: "open"; value: MuxOpenIn }
  | { case: "cancel"; value: { reason: string } }
  | { case: "credit"; value: { bytes: number } }
  | { case: "malformed"; value: Error }
  | { case: undefined; value?: undefined };

export interface MuxRequestIn {
  callId: number;
  frame: MuxFrameIn;
}

const VARINT = 0;
const BIT64 = 1;
const LEN = 2;
const START_GROUP = 3;
const END_GROUP = 4;
const BIT32 = 5;
const MAX_GROUP_DEPTH = 100;
const EMPTY = new Uint8Array(0);

class Malformed extends Error {}

/** A cursor over one frame; each read is bounded by the end of the message it is in. */
class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}

  /** A varint's low 32 bits, unsigned (protobuf's uint32 of any varint up to 10 bytes). */
  uint32(end: number): number {
    const b = this.buf;
    let v = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= end) throw new Malformed("truncated varint");
      const byte = b[this.pos++]!;
      if (i < 4) v |= (byte & 0x7f) << (7 * i);
      else if (i === 4) v |= (byte & 0x0f) << 28;
      if ((byte & 0x80) === 0) return v >>> 0;
    }
    throw new Malformed("varint longer than 10 bytes");
  }

  /** A bool: any varint that is not zero. */
  bool(end: number): boolean {
    const b = this.buf;
    let nonZero = false;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= end) throw new Malformed("truncated varint");
      const byte = b[this.pos++]!;
      if ((byte & 0x7f) !== 0) nonZero = true;
      if ((byte & 0x80) === 0) return nonZero;
    }
    throw new Malformed("varint longer than 10 bytes");
  }

  /** Field number and wire type of the next tag (a tag is a uint32 varint of at most 5 bytes). */
  tag(end: number): number {
    const start = this.pos;
    const t = this.uint32(end);
    if (this.pos - start > 5 || (this.pos - start === 5 && this.buf[this.pos - 1]! > 0x0f)) throw new Malformed("tag overflows uint32");
    if (t >>> 3 === 0 || (t & 7) > 5) throw new Malformed(`illegal tag: field ${t >>> 3}, wire type ${t & 7}`);
    return t;
  }

  /** Reads a length prefix; returns where the delimited bytes end. */
  delimited(end: number): number {
    const len = this.uint32(end);
    const stop = this.pos + len;
    if (stop > end) throw new Malformed("length past the end of the message");
    return stop;
  }

  string(end: number): string {
    const stop = this.delimited(end);
    const s = this.utf8(this.pos, stop);
    this.pos = stop;
    return s;
  }

  bytes(end: number): Uint8Array {
    const stop = this.delimited(end);
    const v = stop === this.pos ? EMPTY : this.buf.subarray(this.pos, stop);
    this.pos = stop;
    return v;
  }

  /** Skips a field of an unknown number (or a known one's group). */
  skip(tag: number, end: number, depth = MAX_GROUP_DEPTH): void {
    switch (tag & 7) {
      case VARINT:
        this.uint32(end);
        return;
      case BIT64:
        return this.advance(8, end);
      case BIT32:
        return this.advance(4, end);
      case LEN:
        this.pos = this.delimited(end);
        return;
      case START_GROUP: {
        if (depth <= 0) throw new Malformed("groups nested too deep");
        for (;;) {
          const t = this.tag(end);
          if ((t & 7) === END_GROUP) {
            if (t >>> 3 !== tag >>> 3) throw new Malformed("end group tag does not match its start");
            return;
          }
          this.skip(t, end, depth - 1);
        }
      }
      default:
        throw new Malformed(`unexpected wire type ${tag & 7} of field ${tag >>> 3}`);
    }
  }

  private advance(n: number, end: number): void {
    if (this.pos + n > end) throw new Malformed("truncated fixed-width field");
    this.pos += n;
  }

  /** UTF-8 text, refusing invalid sequences as protobuf-es does for proto3 strings. ASCII (all of HTTP) takes the fast path. */
  private utf8(start: number, stop: number): string {
    const b = this.buf;
    for (let i = start; i < stop; i++) {
      if (b[i]! > 0x7f) {
        try {
          return strictUtf8.decode(b.subarray(start, stop));
        } catch {
          throw new Malformed("a string is not valid UTF-8");
        }
      }
    }
    return b.toString("latin1", start, stop);
  }
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Checks a known field's wire type; a mismatch is refused (protobuf-es would misread it). */
function expect(tag: number, wireType: number): void {
  if ((tag & 7) !== wireType) throw new Malformed(`field ${tag >>> 3} has wire type ${tag & 7}, expected ${wireType}`);
}

function readHeader(r: Reader, end: number): MuxHeaderIn {
  const h: MuxHeaderIn = { name: "", value: "" };
  while (r.pos < end) {
    const t = r.tag(end);
    if (t === ((1 << 3) | LEN)) h.name = r.string(end);
    else if (t === ((2 << 3) | LEN)) h.value = r.string(end);
    else if (t >>> 3 === 1 || t >>> 3 === 2) expect(t, LEN);
    else r.skip(t, end);
  }
  return h;
}

function readRequest(r: Reader, end: number, into: ProxyRequestIn | undefined): ProxyRequestIn {
  const q: ProxyRequestIn = into ?? { target: "", method: "", path: "", headers: [], body: EMPTY, timeoutMs: 0 };
  while (r.pos < end) {
    const t = r.tag(end);
    switch (t >>> 3) {
      case 1:
        expect(t, LEN);
        q.target = r.string(end);
        break;
      case 2:
        expect(t, LEN);
        q.method = r.string(end);
        break;
      case 3:
        expect(t, LEN);
        q.path = r.string(end);
        break;
      case 4: {
        expect(t, LEN);
        const stop = r.delimited(end);
        q.headers.push(readHeader(r, stop));
        break;
      }
      case 5:
        expect(t, LEN);
        q.body = r.bytes(end);
        break;
      case 6:
        expect(t, VARINT);
        q.timeoutMs = r.uint32(end);
        break;
      default:
        r.skip(t, end);
    }
  }
  return q;
}

function readOpen(r: Reader, end: number, into: MuxOpenIn | undefined): MuxOpenIn {
  const o: MuxOpenIn = into ?? { request: undefined, windowBytes: 0, deadlineMs: 0, acceptsReply: false };
  while (r.pos < end) {
    const t = r.tag(end);
    switch (t >>> 3) {
      case 1: {
        expect(t, LEN);
        const stop = r.delimited(end);
        o.request = readRequest(r, stop, o.request);
        break;
      }
      case 2:
        expect(t, VARINT);
        o.windowBytes = r.uint32(end);
        break;
      case 3:
        expect(t, VARINT);
        o.deadlineMs = r.uint32(end);
        break;
      case 4:
        expect(t, VARINT);
        o.acceptsReply = r.bool(end);
        break;
      default:
        r.skip(t, end);
    }
  }
  return o;
}

/** One field of a small message: MuxCancel.reason (string) or MuxCredit.bytes (uint32), both field 1. */
function readSingle<T extends string | number>(r: Reader, end: number, wireType: number, read: () => T, value: T): T {
  while (r.pos < end) {
    const t = r.tag(end);
    if (t >>> 3 !== 1) r.skip(t, end);
    else {
      expect(t, wireType);
      value = read();
    }
  }
  return value;
}

/** Decodes one ProxyMuxRequest (grpc-js's deserializer of ProxyMux). Never throws. */
export function decodeMuxRequest(bytes: Uint8Array): MuxRequestIn {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const r = new Reader(buf);
  const end = buf.length;
  const m: MuxRequestIn = { callId: 0, frame: { case: undefined } };
  try {
    while (r.pos < end) {
      const t = r.tag(end);
      const f = m.frame;
      switch (t >>> 3) {
        case 1:
          expect(t, VARINT);
          m.callId = r.uint32(end);
          break;
        case 2: {
          expect(t, LEN);
          const stop = r.delimited(end);
          m.frame = { case: "open", value: readOpen(r, stop, f.case === "open" ? f.value : undefined) };
          break;
        }
        case 3: {
          expect(t, LEN);
          const stop = r.delimited(end);
          const reason = readSingle(r, stop, LEN, () => r.string(stop), f.case === "cancel" ? f.value.reason : "");
          m.frame = { case: "cancel", value: { reason } };
          break;
        }
        case 4: {
          expect(t, LEN);
          const stop = r.delimited(end);
          const n = readSingle(r, stop, VARINT, () => r.uint32(stop), f.case === "credit" ? f.value.bytes : 0);
          m.frame = { case: "credit", value: { bytes: n } };
          break;
        }
        default:
          r.skip(t, end);
      }
    }
  } catch (err) {
    m.frame = { case: "malformed", value: new Error(`malformed ProxyMuxRequest at byte ${r.pos}: ${err instanceof Error ? err.message : String(err)}`) };
  }
  return m;
}
