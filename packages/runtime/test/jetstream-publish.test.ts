import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { jetstreamManager } from "@nats-io/jetstream";
import { testServers } from "@daalu/testing";
import { connectNats, createLogger, JetStreamPublishError, publishForAck } from "@daalu/runtime";

const logger = createLogger("jetstream-publish-test", "silent");

async function withStream(t: import("node:test").TestContext) {
  const { natsUrl } = await testServers();
  const nc = await connectNats(natsUrl, "jetstream-publish-test", logger);
  const name = `JSPUB_${randomBytes(4).toString("hex").toUpperCase()}`;
  const subject = `jspub.${name.toLowerCase()}`;
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name, subjects: [`${subject}.>`], duplicate_window: 60_000_000_000 });
  t.after(async () => {
    await jsm.streams.delete(name).catch(() => undefined);
    await nc.close();
  });
  return { nc, name, subject, jsm };
}

test("a stored message resolves with the stream's sequence; the same Nats-Msg-Id again is a duplicate, stored once", async (t) => {
  const { nc, name, subject, jsm } = await withStream(t);
  const a = await publishForAck(nc, `${subject}.a`, new TextEncoder().encode("one"), { msgID: "id-1", timeoutMs: 2_000 });
  assert.deepEqual(a, { stream: name, seq: 1, duplicate: false });
  const again = await publishForAck(nc, `${subject}.a`, new TextEncoder().encode("one"), { msgID: "id-1", timeoutMs: 2_000 });
  assert.equal(again.duplicate, true, "a retry with the same id is reported as a duplicate");
  assert.equal(again.seq, 1);
  const b = await publishForAck(nc, `${subject}.b`, new TextEncoder().encode("two"), { msgID: "id-2", timeoutMs: 2_000 });
  assert.equal(b.seq, 2);
  assert.equal((await jsm.streams.info(name)).state.messages, 2, "two messages stored, the duplicate not");
  const m = await jsm.streams.getMessage(name, { seq: 1 });
  assert.equal(m?.string(), "one");
  assert.equal(m?.header.get("Nats-Msg-Id"), "id-1");
});

test("a subject no stream takes fails at once as no-responders, not at the timeout", async (t) => {
  const { nc, subject } = await withStream(t);
  const t0 = Date.now();
  const err = await publishForAck(nc, `nostream.${subject}`, new Uint8Array(1), { msgID: "x", timeoutMs: 5_000 }).catch((e: unknown) => e);
  assert.ok(err instanceof JetStreamPublishError, String(err));
  assert.equal(err.kind, "no-responders");
  assert.ok(Date.now() - t0 < 4_000, `failed after ${Date.now() - t0} ms`);
});

test("JetStream's refusal (a message over the stream's size limit) is an api error naming why", async (t) => {
  const { nc, name, subject, jsm } = await withStream(t);
  await jsm.streams.update(name, { max_msg_size: 16 });
  const err = await publishForAck(nc, `${subject}.big`, new Uint8Array(64), { msgID: "big", timeoutMs: 2_000 }).catch((e: unknown) => e);
  assert.ok(err instanceof JetStreamPublishError, String(err));
  assert.equal(err.kind, "api");
  assert.match(err.message, /message size exceeds maximum allowed/i);
});

test("no PubAck within the timeout rejects as timeout, and a late PubAck after it is ignored", async (t) => {
  const { nc, subject } = await withStream(t);
  // A plain subscriber on a subject outside the stream that never answers: the publish waits, then times out.
  const quiet = `${subject.replace("jspub.", "quiet.")}.x`;
  const seen: string[] = [];
  const sub = nc.subscribe(quiet, { callback: (_e, m) => void seen.push(m.reply ?? "") });
  t.after(() => sub.unsubscribe());
  await nc.flush();
  const t0 = Date.now();
  const err = await publishForAck(nc, quiet, new Uint8Array(1), { msgID: "late", timeoutMs: 150 }).catch((e: unknown) => e);
  assert.ok(err instanceof JetStreamPublishError, String(err));
  assert.equal(err.kind, "timeout");
  assert.ok(Date.now() - t0 >= 140, "not before the timeout");
  assert.equal(seen.length, 1);
  // The answer arrives after the caller gave up: nothing throws, nothing resolves twice.
  nc.publish(seen[0]!, new TextEncoder().encode(JSON.stringify({ stream: "X", seq: 9 })));
  await nc.flush();
});

test("a closed connection fails a waiting publish as connection, without waiting for the timeout", async () => {
  const { natsUrl } = await testServers();
  const nc = await connectNats(natsUrl, "jetstream-publish-close", logger);
  const quiet = `quiet.${randomBytes(4).toString("hex")}`;
  const sub = nc.subscribe(quiet, { callback: () => undefined });
  await nc.flush();
  const p = publishForAck(nc, quiet, new Uint8Array(1), { msgID: "c", timeoutMs: 10_000 }).catch((e: unknown) => e);
  await nc.flush();
  const t0 = Date.now();
  sub.unsubscribe();
  await nc.close();
  const err = await p;
  assert.ok(err instanceof JetStreamPublishError, String(err));
  assert.equal(err.kind, "connection");
  assert.ok(Date.now() - t0 < 5_000);
});
