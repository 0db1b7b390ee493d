import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Code, DaaluError } from "@daalu/runtime";
import { eventually, setup, type TestEnv } from "@daalu/testing";
import { requestStream } from "../src/stream-requester.js";
import { acceptStream, type StreamResponder } from "../src/stream-responder.js";

// The chunked stream protocol over the real NATS: order, errors, the credit
// window under a slow reader, and cancellation in both directions.

let env: TestEnv;
before(async () => {
  env = await setup();
});
after(async () => {
  await env?.cleanup();
});

let n = 0;
/** Serves one subject; each request runs `fn` with its responder. */
function serve(fn: (r: StreamResponder, data: Uint8Array) => Promise<void> | void, opts: Parameters<typeof acceptStream>[2] = {}) {
  const subject = `${env.prefix}.stream.${++n}`;
  const responders: StreamResponder[] = [];
  const sub = env.nc.subscribe(subject, {
    callback: (_e, m) => {
      const r = acceptStream(env.nc, m, opts);
      responders.push(r);
      void (async () => fn(r, m.data))().catch((err) => r.fail(err));
    },
  });
  return { subject, responders, stop: () => sub.unsubscribe() };
}

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

test("head, chunks in order, end", async () => {
  const s = serve(async (r, data) => {
    r.head(enc(`head:${dec(data)}`));
    for (let i = 0; i < 200; i++) await r.write(enc(`${i},`));
    r.end();
  });
  const rep = await requestStream(env.nc, s.subject, enc("q"), { timeoutMs: 2_000 });
  assert.equal(dec(rep.head), "head:q");
  let text = "";
  for await (const c of rep.body) text += dec(c);
  assert.equal(text, Array.from({ length: 200 }, (_, i) => `${i},`).join(""));
  s.stop();
});

test("a small complete answer travels as one message", async () => {
  const s = serve((r) => {
    assert.equal(r.full(enc("H"), enc("whole body")), true);
  });
  const rep = await requestStream(env.nc, s.subject, enc(""), { timeoutMs: 2_000 });
  assert.equal(rep.complete, true);
  const parts: string[] = [];
  for await (const c of rep.body) parts.push(dec(c));
  assert.deepEqual(parts, ["whole body"]);
  s.stop();
});

test("an error before the head rejects with the DaaluError; after it, the body throws", async () => {
  const s1 = serve(() => {
    throw new DaaluError(Code.PermissionDenied, "no such luck", { reason: "NOPE" });
  });
  await assert.rejects(requestStream(env.nc, s1.subject, enc(""), { timeoutMs: 2_000 }), (e: DaaluError) => e.code === Code.PermissionDenied && e.reason === "NOPE" && e.message === "no such luck");
  const s2 = serve(async (r) => {
    r.head(enc(""));
    await r.write(enc("a"));
    r.fail(new DaaluError(Code.Unavailable, "edge gone", { reason: "EDGE_GONE" }));
  });
  const rep = await requestStream(env.nc, s2.subject, enc(""), { timeoutMs: 2_000 });
  const got: string[] = [];
  await assert.rejects(
    (async () => {
      for await (const c of rep.body) got.push(dec(c));
    })(),
    (e: DaaluError) => e.reason === "EDGE_GONE",
  );
  assert.deepEqual(got, ["a"]);
  await assert.rejects(requestStream(env.nc, `${env.prefix}.nobody.here`, enc(""), { timeoutMs: 2_000 }), (e: DaaluError) => e.code === Code.Unavailable);
  s1.stop();
  s2.stop();
});

test("slow reader: the responder never runs more than the window ahead", async () => {
  const chunk = new Uint8Array(16 * 1024).fill(7);
  const total = 640; // 10 MiB
  const windowBytes = 256 * 1024;
  let writing = 0; // writes started
  let written = 0; // writes that resolved
  const s = serve(async (r) => {
    r.head(enc(""));
    for (let i = 0; i < total; i++) {
      writing++;
      await r.write(chunk);
      written++;
    }
    r.end();
  });
  const rep = await requestStream(env.nc, s.subject, enc(""), { timeoutMs: 2_000, windowChunks: 16, windowBytes });
  const responder = s.responders[0]!;
  // Nobody reads: the responder sends one window, then its next write waits for credit.
  await eventually(() => {
    assert.equal(responder.bytesOut, windowBytes, "the responder sent exactly one window to a reader that read nothing");
    assert.deepEqual({ writing, written }, { writing: windowBytes / chunk.length + 1, written: windowBytes / chunk.length });
  });
  let read = 0;
  let maxAhead = 0;
  let i = 0;
  for await (const c of rep.body) {
    read += c.length;
    maxAhead = Math.max(maxAhead, responder.bytesOut - read);
    if (++i % 64 === 0) await new Promise((r) => setTimeout(r, 20)); // a slow consumer
  }
  assert.equal(read, total * chunk.length);
  assert.ok(maxAhead <= windowBytes, `the responder ran ${maxAhead} bytes ahead of the reader`);
  s.stop();
});

test("breaking out of the body cancels the responder", async () => {
  const s = serve(async (r) => {
    r.head(enc(""));
    for (;;) await r.write(enc("tick"));
  });
  const rep = await requestStream(env.nc, s.subject, enc(""), { timeoutMs: 2_000 });
  let k = 0;
  for await (const _ of rep.body) if (++k === 10) break;
  await eventually(() => assert.equal(s.responders[0]!.signal.aborted, true));
  s.stop();
});

test("a requester that vanishes is noticed by the responder's idle timeout", async () => {
  const other: NatsConnection = await connect({ servers: env.natsUrl });
  const s = serve((r) => r.head(enc("")), { heartbeatMs: 50, idleTimeoutMs: 300 });
  await env.nc.flush();
  await requestStream(other, s.subject, enc(""), { timeoutMs: 2_000, heartbeatMs: 50 });
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(s.responders[0]!.signal.aborted, false, "heartbeats keep an idle stream open");
  await other.close();
  await eventually(() => assert.equal(s.responders[0]!.signal.aborted, true), { timeoutMs: 3_000 });
  s.stop();
});

test("a responder that vanishes fails the requester's body", async () => {
  const other: NatsConnection = await connect({ servers: env.natsUrl });
  const subject = `${env.prefix}.stream.gone`;
  other.subscribe(subject, { callback: (_e, m) => acceptStream(other, m, { heartbeatMs: 50 }).head(enc("")) });
  await other.flush();
  const rep = await requestStream(env.nc, subject, enc(""), { timeoutMs: 2_000, heartbeatMs: 50, idleTimeoutMs: 300 });
  await other.close();
  await assert.rejects(
    (async () => {
      for await (const _ of rep.body);
    })(),
    (e: DaaluError) => e.reason === "STREAM_STALLED",
  );
});
