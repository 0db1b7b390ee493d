/**
 * ProxyMuxResponse frames, encoded by hand: the stream sends one to three per
 * call, and protobuf-es's reflective toBinary (plus the message it needs built
 * first) was a visible share of the edge's CPU per call; so was its
 * BinaryWriter (a chunk list per fork, a copy per join). Each frame's size is
 * known up front, so it is written into one buffer of that size
 * (@daalu/proto's wire-write primitives). The bytes are the ones toBinary
 * writes for the same message (pinned by mux-frames.test.ts). Field numbers:
 * proto/daalu/edge/v1/edge.proto.
 */
import { key, LEN, lenField, putBytes, putString, putUint, putVarint, uintField } from "@daalu/proto";

export interface Header {
  name: string;
  value: string;
}

/** ProxyHead{status = 1, headers = 2 (ProxyHeader{name = 1, value = 2})}, measured once and then written. */
class HeadEncoding {
  private readonly lens: number[] = [];
  readonly size: number;

  constructor(
    private readonly status: number,
    private readonly headers: readonly Header[],
  ) {
    let size = uintField(status);
    for (const h of headers) {
      const n = Buffer.byteLength(h.name, "utf8");
      const v = Buffer.byteLength(h.value, "utf8");
      const entry = lenField(n) + lenField(v);
      this.lens.push(n, v, entry);
      size += lenField(entry, true);
    }
    this.size = size;
  }

  write(b: Buffer, pos: number): number {
    pos = putUint(b, pos, 1, this.status);
    const lens = this.lens;
    for (let i = 0; i < this.headers.length; i++) {
      const h = this.headers[i]!;
      b[pos++] = key(2, LEN);
      pos = putVarint(b, pos, lens[3 * i + 2]!);
      pos = putString(b, pos, 1, h.name, lens[3 * i]!);
      pos = putString(b, pos, 2, h.value, lens[3 * i + 1]!);
    }
    return pos;
  }
}

/** ProxyMuxResponse{call_id = 1, the oneof field `field` = an embedded message of `bodySize` bytes}: the buffer and where the body goes. */
function frame(callId: number, field: number, bodySize: number): { b: Buffer; pos: number } {
  const b = Buffer.allocUnsafe(uintField(callId) + lenField(bodySize, true));
  let pos = putUint(b, 0, 1, callId);
  b[pos++] = key(field, LEN);
  pos = putVarint(b, pos, bodySize);
  return { b, pos };
}

export function helloFrame(edgeVersion: string): Uint8Array {
  const len = Buffer.byteLength(edgeVersion, "utf8");
  const { b, pos } = frame(0, 2, lenField(len));
  putString(b, pos, 1, edgeVersion, len);
  return b;
}

export function headFrame(callId: number, status: number, headers: readonly Header[]): Uint8Array {
  const head = new HeadEncoding(status, headers);
  const { b, pos } = frame(callId, 3, head.size);
  head.write(b, pos);
  return b;
}

export function chunkFrame(callId: number, data: Uint8Array): Uint8Array {
  const { b, pos } = frame(callId, 4, lenField(data.length));
  putBytes(b, pos, 1, data);
  return b;
}

export const endFrame = (callId: number): Uint8Array => frame(callId, 5, 0).b;

export function errorFrame(callId: number, code: number, message: string): Uint8Array {
  const len = Buffer.byteLength(message, "utf8");
  const { b, pos } = frame(callId, 6, uintField(code) + lenField(len));
  putString(b, putUint(b, pos, 1, code), 2, message, len);
  return b;
}

/** MuxReply{head = 1, body = 2}: a whole answer in one frame. */
export function replyFrame(callId: number, status: number, headers: readonly Header[], body: Uint8Array): Uint8Array {
  const head = new HeadEncoding(status, headers);
  const { b, pos: at } = frame(callId, 7, lenField(head.size, true) + lenField(body.length));
  b[at] = key(1, LEN);
  const pos = head.write(b, putVarint(b, at + 1, head.size));
  putBytes(b, pos, 2, body);
  return b;
}
