import { after, test } from "node:test";
import assert from "node:assert/strict";
import { Code, DaaluError } from "@daalu/runtime";
import { eventually, setup } from "@daalu/testing";
import { acceptDuplex, openDuplex } from "../src/stream-duplex.js";
import { CHANNEL_COMPLETE, type DuplexChannel } from "../src/stream-duplex-channel.js";

// The duplex stream protocol over the real NATS: bytes both ways in order, the
// credit window in the requester -> responder direction under a slow reader,
// half-close, close with a reason, refusal before the head.

const env = await setup();
after(() => env.cleanup());

let n = 0;
/** Serves one subject; each session's channel goes to `fn` (or the request is refused when fn is a DaaluError). */
function serve(fn: ((c: DuplexChannel) => Promise<void> | void) | DaaluError, window = { windowChunks: 4, windowBytes: 4 * 1024 }) {
  const subject = `${env.prefix}.duplex.${++n}`;
  const sub = env.nc.subscribe(subject, {
    callback: (_e, m) => {
      const r = acceptDuplex(env.nc, m, window);
      if (fn instanceof DaaluError) return r.fail(fn);
      void fn(r.head(new TextEncoder().encode("101")));
    },
  });
  return { subject, stop: () => sub.unsubscribe() };
}

const open = (subject: string) => openDuplex(env.nc, subject, new Uint8Array(0), { timeoutMs: 5_000, windowChunks: 4, windowBytes: 4 * 1024 });

async function readAll(c: DuplexChannel): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let d = await c.read(); d !== null; d = await c.read()) parts.push(Buffer.from(d));
  return Buffer.concat(parts);
}

test("echo: bytes both ways in order, half-close each way, then complete", async () => {
  const s = serve(async (c) => {
    for (let d = await c.read(); d !== null; d = await c.read()) await c.write(d);
    c.end();
  });
  const { head, channel } = await open(s.subject);
  assert.equal(new TextDecoder().decode(head), "101");
  const sent = Buffer.alloc(300 * 1024);
  for (let i = 0; i < sent.length; i++) sent[i] = (i * 31) & 0xff;
  const got = readAll(channel);
  for (let off = 0; off < sent.length; off += 10_000) await channel.write(sent.subarray(off, off + 10_000));
  channel.end();
  assert.ok((await got).equals(sent));
  await eventually(() => assert.equal(channel.closeReason, CHANNEL_COMPLETE));
  assert.equal(channel.bytesOut, sent.length);
  assert.equal(channel.bytesIn, sent.length);
  s.stop();
});

test("slow reader: the writer stops at the reader's window and goes on as it reads", async () => {
  let reader!: DuplexChannel;
  const s = serve((c) => void (reader = c));
  const { channel } = await open(s.subject);
  let written = 0;
  const writer = (async () => {
    for (let i = 0; i < 64; i++) {
      await channel.write(Buffer.alloc(512, i));
      written++;
    }
  })();
  await eventually(() => assert.ok(reader));
  // The responder's window is 4 chunks / 4 KiB: nothing is read, so the writer stops there.
  await eventually(() => assert.equal(written, 4));
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(written, 4, "no more than the window before the reader consumed anything");
  let got = 0;
  while (got < 64 * 512) got += (await reader.read())!.length;
  await writer;
  assert.equal(written, 64);
  s.stop();
});

test("close with a reason reaches the other end at once; reads after it fail with that reason", async () => {
  let server!: DuplexChannel;
  const s = serve((c) => void (server = c));
  const { channel } = await open(s.subject);
  await eventually(() => assert.ok(server));
  channel.close("the client closed the connection");
  await eventually(() => assert.equal(server.signal.aborted, true));
  assert.equal(server.closeReason, "the client closed the connection");
  assert.equal(server.closedByPeer, true);
  await assert.rejects(server.read(), (e: DaaluError) => e.reason === "STREAM_CLOSED");
  await assert.rejects(server.write(Buffer.from("x")), (e: DaaluError) => e.reason === "STREAM_CLOSED");
  s.stop();
});

test("a refusal before the head rejects the open with the responder's error", async () => {
  const s = serve(new DaaluError(Code.ResourceExhausted, "too many", { reason: "SESSION_LIMIT_CLUSTER", httpStatus: 429 }));
  await assert.rejects(open(s.subject), (e: DaaluError) => e.reason === "SESSION_LIMIT_CLUSTER" && e.httpStatus === 429);
  s.stop();
  await assert.rejects(openDuplex(env.nc, `${env.prefix}.duplex.nobody`, new Uint8Array(0), { timeoutMs: 2_000 }), (e: DaaluError) => e.reason === "TUNNEL_UNAVAILABLE");
});
