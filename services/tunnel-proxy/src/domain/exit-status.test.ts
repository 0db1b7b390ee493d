import { test } from "node:test";
import assert from "node:assert/strict";
import { ErrorChannelReader, errorChannelReaderFor, parseExitStatus } from "./exit-status.js";

/** One WebSocket frame as a server writes it (unmasked unless `mask`). */
function frame(opcode: number, payload: Buffer, o: { fin?: boolean; mask?: Buffer } = {}): Buffer {
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0, len]) : len < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  head[0] = (o.fin === false ? 0 : 0x80) | opcode;
  if (len >= 126 && len < 65536) {
    head[1] = 126;
    head.writeUInt16BE(len, 2);
  } else if (len >= 65536) {
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  if (!o.mask) return Buffer.concat([head, payload]);
  head[1]! |= 0x80;
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= o.mask[i % 4]!;
  return Buffer.concat([head, o.mask, body]);
}
const chan = (c: number, data: string | Buffer) => Buffer.concat([Buffer.from([c]), Buffer.from(data)]);
const nonZero = (code: number) => JSON.stringify({ metadata: {}, status: "Failure", message: `command terminated with non-zero exit code: exit code ${code}`, reason: "NonZeroExitCode", details: { causes: [{ reason: "ExitCode", message: String(code) }] } });

test("Status JSON: Success is 0, NonZeroExitCode carries its code, other failures their reason; anything else is no status", () => {
  assert.deepEqual(parseExitStatus(JSON.stringify({ metadata: {}, status: "Success" })), { status: "Success", code: 0 });
  assert.deepEqual(parseExitStatus(nonZero(7)), { status: "NonZeroExitCode", code: 7 });
  assert.deepEqual(parseExitStatus(JSON.stringify({ status: "Failure", reason: "InternalError", message: "boom" })), { status: "InternalError", code: -1 });
  assert.equal(parseExitStatus("command terminated with non-zero exit code"), undefined);
  assert.equal(parseExitStatus("null"), undefined);
});

test("the reader finds the error channel's Status among stdout frames, across any chunking, and skips pings and big stdout", () => {
  const stream = Buffer.concat([
    frame(2, chan(1, "")),
    frame(2, chan(1, Buffer.alloc(70_000, 0x03))), // 64-bit length; its bytes look like channel 3 but are stdout
    frame(9, Buffer.from("ping")),
    frame(2, chan(1, "x".repeat(300))),
    frame(2, chan(3, nonZero(42))),
    frame(8, Buffer.from([0x03, 0xe8])),
  ]);
  for (const size of [1, 2, 3, 7, 1000, stream.length]) {
    const r = new ErrorChannelReader(false);
    for (let i = 0; i < stream.length; i += size) r.push(stream.subarray(i, i + size));
    assert.deepEqual(r.exit, { status: "NonZeroExitCode", code: 42 }, `chunks of ${size}`);
  }
});

test("fragmented and masked messages, base64 text frames; a compressed frame stops reading", () => {
  const s = chan(3, JSON.stringify({ metadata: {}, status: "Success" }));
  const r = new ErrorChannelReader(false);
  r.push(Buffer.concat([frame(2, s.subarray(0, 5), { fin: false }), frame(10, Buffer.alloc(0)), frame(0, s.subarray(5), { mask: Buffer.from([1, 2, 3, 4]) })]));
  assert.deepEqual(r.exit, { status: "Success", code: 0 });

  const b = new ErrorChannelReader(true);
  b.push(frame(1, Buffer.from("3" + Buffer.from(nonZero(3)).toString("base64"))));
  assert.deepEqual(b.exit, { status: "NonZeroExitCode", code: 3 });

  const z = new ErrorChannelReader(false);
  const compressed = frame(2, chan(3, nonZero(1)));
  compressed[0]! |= 0x40;
  z.push(compressed);
  assert.equal(z.exit, undefined);
});

test("only exec and attach answered 101 with a Status protocol are read", () => {
  const ws = (p: string) => [{ name: "Upgrade", value: "websocket" }, { name: "Sec-WebSocket-Protocol", value: p }];
  assert.ok(errorChannelReaderFor("exec", 101, ws("v5.channel.k8s.io")));
  assert.ok(errorChannelReaderFor("attach", 101, ws("v4.base64.channel.k8s.io")));
  assert.equal(errorChannelReaderFor("exec", 101, ws("channel.k8s.io")), undefined);
  assert.equal(errorChannelReaderFor("portforward", 101, ws("v4.channel.k8s.io")), undefined);
  assert.equal(errorChannelReaderFor("exec", 403, ws("v5.channel.k8s.io")), undefined);
  assert.equal(errorChannelReaderFor("exec", 101, [{ name: "Upgrade", value: "SPDY/3.1" }]), undefined);
});
