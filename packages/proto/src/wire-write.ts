/**
 * Protobuf wire primitives for the hand-written encoders on the proxy's hot
 * path (the edge's mux frames, the tunnel-proxy's call records): each message
 * is measured first and then written into one Buffer of exactly its size.
 * protobuf-es's reflective toBinary, and its BinaryWriter (a chunk list per
 * fork, a copy per join), were visible shares of those processes' CPU per
 * call. Every encoder built on these is pinned byte for byte against toBinary
 * in its tests; anything they do not cover falls back to toBinary.
 */

/** Wire type of length-delimited fields (strings, bytes, embedded messages). */
export const LEN = 2;
export const key = (field: number, wireType: number): number => (field << 3) | wireType;

/** Bytes of non-negative integer `n` (up to 2^53) as a varint. */
export function varintSize(n: number): number {
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  let size = 5;
  for (let v = Math.floor(n / 0x800000000); v > 0; v = Math.floor(v / 0x80)) size++;
  return size;
}

/** Writes non-negative integer `n` (up to 2^53) as a varint at `pos`; returns the position after it. */
export function putVarint(b: Buffer, pos: number, n: number): number {
  if (n < 0x80000000) {
    while (n > 0x7f) {
      b[pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    b[pos++] = n;
    return pos;
  }
  while (n > 0x7f) {
    b[pos++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  b[pos++] = n;
  return pos;
}

/** A scalar varint field: nothing when it holds the default (0), as proto3 writes it. */
export const uintField = (n: number): number => (n === 0 ? 0 : 1 + varintSize(n));
/** A length-delimited field of `len` bytes: nothing when empty, unless `always` (an embedded message is written even when empty). */
export const lenField = (len: number, always = false): number => (len === 0 && !always ? 0 : 1 + varintSize(len) + len);

/** Writes tag and varint `n` unless `n` is 0. */
export function putUint(b: Buffer, pos: number, field: number, n: number): number {
  if (n === 0) return pos;
  b[pos++] = key(field, 0);
  return putVarint(b, pos, n);
}

/** Writes string field `field` of UTF-8 length `len` (nothing when empty). */
export function putString(b: Buffer, pos: number, field: number, s: string, len: number): number {
  if (len === 0) return pos;
  b[pos++] = key(field, LEN);
  pos = putVarint(b, pos, len);
  return pos + b.write(s, pos, len, "utf8");
}

/** Writes bytes field `field` of `data` (nothing when empty). */
export function putBytes(b: Buffer, pos: number, field: number, data: Uint8Array): number {
  if (data.length === 0) return pos;
  b[pos++] = key(field, LEN);
  pos = putVarint(b, pos, data.length);
  b.set(data, pos);
  return pos + data.length;
}

/** Writes the tag and length of an embedded message (or any length-delimited field) of `len` bytes, always. */
export function putLen(b: Buffer, pos: number, field: number, len: number): number {
  b[pos++] = key(field, LEN);
  return putVarint(b, pos, len);
}
