/**
 * SessionResponse{data = 2: SessionData{data = 1}} encoded by hand: a
 * download is almost nothing but these frames, and protobuf-es's toBinary
 * (its writer copies the bytes, then grows and copies again to finish) cost
 * ~2 ms of the edge's CPU per MiB against ~0.1 ms for one copy into a buffer
 * with the two tags and lengths in front. The bytes are the ones toBinary
 * writes for the same message (pinned by session-frames.test.ts). Field
 * numbers: proto/daalu/edge/v1/edge.proto.
 */

const varintLength = (n: number): number => {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
};

const putVarint = (b: Buffer, at: number, n: number): number => {
  while (n >= 0x80) {
    b[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  b[at++] = n;
  return at;
};

/** The encoded SessionResponse carrying `data` as its data frame. */
export function sessionDataFrame(data: Uint8Array): Buffer {
  const n = data.length;
  // proto3: an empty bytes field is not written, so SessionData is empty.
  const inner = n === 0 ? 0 : 1 + varintLength(n) + n;
  const out = Buffer.allocUnsafe(1 + varintLength(inner) + inner);
  let at = 0;
  out[at++] = (2 << 3) | 2; // field 2 (data), length-delimited
  at = putVarint(out, at, inner);
  if (n > 0) {
    out[at++] = (1 << 3) | 2; // SessionData.data, length-delimited
    at = putVarint(out, at, n);
    out.set(data, at);
  }
  return out;
}
