import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { eventually, testServers } from "@daalu/testing";
import { coalesceNatsWrites, connectNats, createLogger } from "@daalu/runtime";

const logger = createLogger("nats-coalesce-test", "silent");

/** Counts the socket writes of `nc` (nats.js's transport, as the coalescing wraps it). */
function countWrites(nc: NatsConnection): () => number {
  const transport = (nc as unknown as { protocol: { transport: { send(b: Uint8Array): void } } }).protocol.transport;
  const send = transport.send.bind(transport);
  let n = 0;
  transport.send = (b) => {
    n++;
    send(b);
  };
  return () => n;
}

async function received(sub: NatsConnection, subject: string, want: number): Promise<string[]> {
  const got: string[] = [];
  const s = sub.subscribe(subject, { callback: (_e, m) => void got.push(m.string()) });
  await sub.flush();
  return new Promise((resolve) => {
    const t = setInterval(() => {
      if (got.length >= want) {
        clearInterval(t);
        s.unsubscribe();
        resolve(got);
      }
    }, 5);
  });
}

test("publishes from separate callbacks of one event-loop turn leave in one write, in order", async (t) => {
  const { natsUrl } = await testServers();
  const sub = await connect({ servers: natsUrl });
  const nc = await connectNats(natsUrl, "coalesce-test", logger);
  t.after(async () => {
    await nc.close();
    await sub.close();
  });
  const subject = `coalesce.${randomBytes(4).toString("hex")}`;
  const got = received(sub, subject, 20);
  await sub.flush();
  const writes = countWrites(nc);
  // Twenty callbacks queued for the same check phase, as twenty calls' I/O callbacks of one poll phase would be.
  await new Promise<void>((resolve) => {
    for (let i = 0; i < 20; i++) setImmediate(() => nc.publish(subject, String(i)));
    setImmediate(resolve);
  });
  assert.equal(writes(), 0, "nothing is written before the turn ends");
  await eventually(() => assert.equal(writes(), 1));
  assert.deepEqual(await got, Array.from({ length: 20 }, (_, i) => String(i)));
});

test("without coalescing the same publishes are twenty writes (what the wrapper changes)", async (t) => {
  const { natsUrl } = await testServers();
  const nc = await connect({ servers: natsUrl });
  t.after(() => nc.close());
  const writes = countWrites(nc);
  await new Promise<void>((resolve) => {
    for (let i = 0; i < 20; i++) setImmediate(() => nc.publish("coalesce.plain", String(i)));
    setImmediate(resolve);
  });
  assert.equal(writes(), 20);
});

test("flush() and close() write what is buffered at once", async (t) => {
  const { natsUrl } = await testServers();
  const sub = await connect({ servers: natsUrl });
  t.after(() => sub.close());
  const subject = `coalesce.${randomBytes(4).toString("hex")}`;
  const got = received(sub, subject, 2);
  await sub.flush();

  const nc = await connectNats(natsUrl, "coalesce-test", logger);
  assert.equal(coalesceNatsWrites(nc), true, "applied once, and says so again");
  nc.publish(subject, "before flush");
  await nc.flush();
  // Published and closed in the same tick: the bytes must still leave before the socket closes.
  nc.publish(subject, "before close");
  await nc.close();
  assert.deepEqual(await got, ["before flush", "before close"]);
});

test("a full buffer is written without waiting for the turn to end", async (t) => {
  const { natsUrl } = await testServers();
  const nc = await connectNats(natsUrl, "coalesce-test", logger);
  t.after(() => nc.close());
  const writes = countWrites(nc);
  const big = new Uint8Array(40 * 1024);
  // nats.js's pendingLimit is 32 KiB: a buffer past it goes out in the microtask nats.js queues, not at the turn's end.
  nc.publish("coalesce.big", big);
  await Promise.resolve();
  assert.equal(writes(), 1);
});

test("a connection whose nats.js internals are not the expected shape is left as it is", () => {
  const flushPending = () => undefined;
  const odd = { protocol: { flushPending, flush: () => undefined, close: async () => undefined, pendingLimit: 1024 } }; // no outbound buffer
  assert.equal(coalesceNatsWrites(odd as unknown as NatsConnection), false);
  assert.equal(odd.protocol.flushPending, flushPending, "nothing was wrapped");
  assert.equal(coalesceNatsWrites({} as NatsConnection), false);
});
