import { test } from "node:test";
import assert from "node:assert/strict";
import { PassThrough, Readable } from "node:stream";
import { setImmediate as turn } from "node:timers/promises";
import { coalesce } from "./coalesce.js";

const piece = (n: number, fill: number) => Buffer.alloc(n, fill);

test("what arrives in one turn goes as one piece, in order; the next turn's as the next", async () => {
  const src = new PassThrough();
  const sent: Buffer[] = [];
  coalesce(src, 1024, (d) => (sent.push(d), true), () => assert.fail("never full"));
  for (let i = 0; i < 5; i++) src.write(piece(100, i));
  await turn();
  await turn();
  src.write(piece(10, 9));
  await turn();
  await turn();
  assert.deepEqual(
    sent.map((d) => d.length),
    [500, 10],
  );
  assert.ok(Buffer.concat(sent).equals(Buffer.concat([0, 1, 2, 3, 4].map((i) => piece(100, i)).concat(piece(10, 9)))));
});

test("no piece grows past maxBytes (a larger single read passes as it is)", async () => {
  const src = new PassThrough();
  const sent: number[] = [];
  coalesce(src, 300, (d) => (sent.push(d.length), true), () => undefined);
  for (let i = 0; i < 7; i++) src.write(piece(100, i));
  src.write(piece(1000, 7));
  await turn();
  await turn();
  assert.deepEqual(sent, [300, 300, 100, 1000]);
});

test("a full sink pauses the source: nothing more is taken until it drains, so at most maxBytes wait here", async () => {
  const src = new Readable({ read: () => undefined });
  const sent: Buffer[] = [];
  let drain: (() => void) | undefined;
  coalesce(
    src,
    256,
    (d) => (sent.push(d), false),
    (resume) => (drain = resume),
  );
  for (let i = 0; i < 64; i++) src.push(piece(64, i));
  await turn();
  await turn();
  assert.deepEqual(
    sent.map((d) => d.length),
    [256],
    "one piece, then the sink said it is full",
  );
  assert.ok(src.isPaused());
  assert.equal(src.readableLength, 64 * 64 - 256, "everything not sent is still in the source: nothing piles up here");
  drain!();
  await turn();
  await turn();
  assert.equal(sent.length, 2, "one more piece per drain");
  assert.equal(src.readableLength, 64 * 64 - 512);
});

test("flush sends what is pending at once (before an end frame)", () => {
  const src = new PassThrough();
  const sent: number[] = [];
  const c = coalesce(src, 1024, (d) => (sent.push(d.length), true), () => undefined);
  src.emit("data", piece(5, 1));
  src.emit("data", piece(6, 2));
  c.flush();
  assert.deepEqual(sent, [11]);
  c.flush();
  assert.deepEqual(sent, [11], "nothing pending, nothing sent");
});
