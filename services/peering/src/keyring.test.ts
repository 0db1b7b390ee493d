import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { inspect } from "node:util";
import { KeyRingOpenError, KeyRingParseError, parseKeyRing } from "./keyring.js";

const entry = (id: string) => `${id}:${randomBytes(32).toString("base64")}`;

test("seal and open round-trip under a fresh data key each time, bound to the row", () => {
  const a = entry("a");
  const ring = parseKeyRing(a);
  const secret = randomBytes(32);
  const s1 = ring.seal(secret, "row/1");
  const s2 = ring.seal(secret, "row/1");
  assert.equal(s1.kekId, "a");
  assert.ok(!s1.ciphertext.equals(s2.ciphertext) && !s1.wrappedDek.equals(s2.wrappedDek), "random data key and IVs");
  assert.ok(!s1.ciphertext.includes(secret) && !s1.wrappedDek.includes(secret));
  assert.deepEqual(ring.open(s1, "row/1"), secret);
  assert.throws(() => ring.open(s1, "row/2"), KeyRingOpenError, "a ciphertext moved to another row does not open");
  const flipped = Buffer.from(s1.ciphertext);
  flipped[20]! ^= 1;
  assert.throws(() => ring.open({ ...s1, ciphertext: flipped }, "row/1"), /altered/);
});

test("a wrong or missing key-encryption key is a clear error", () => {
  const s = parseKeyRing(entry("a")).seal(randomBytes(32), "row/1");
  assert.throws(() => parseKeyRing(entry("a")).open(s, "row/1"), (e: Error) => e instanceof KeyRingOpenError && /key id "a" .* wrong key/.test(e.message));
  assert.throws(() => parseKeyRing(entry("b")).open(s, "row/1"), (e: Error) => e instanceof KeyRingOpenError && /sealed with key id "a".*holds "b"/.test(e.message));
});

test("rotation: the first key seals, all open, rewrap moves a row to the first key", () => {
  const a = entry("a");
  const b = entry("b");
  const secret = randomBytes(32);
  const old = parseKeyRing(a).seal(secret, "row/1");
  const both = parseKeyRing(`${b},${a}`);
  assert.equal(both.currentId, "b");
  assert.deepEqual(both.open(old, "row/1"), secret);
  const moved = both.rewrap(old, "row/1");
  assert.equal(moved.kekId, "b");
  assert.ok(moved.ciphertext.equals(old.ciphertext), "only the data key is re-wrapped");
  assert.deepEqual(parseKeyRing(b).open(moved, "row/1"), secret, "the old key is no longer needed");
});

test("the key ring never shows its keys, and parse errors never quote them", () => {
  const key = randomBytes(32).toString("base64");
  const ring = parseKeyRing(`k1:${key}`);
  assert.ok(!JSON.stringify({ ring }).includes(key) && !inspect(ring).includes(key) && !String(ring).includes(key));
  assert.deepEqual(ring.ids, ["k1"]);
  const short = randomBytes(31).toString("base64");
  for (const [text, re] of [
    ["", /entry 1/],
    [`k1:${short}`, /exactly 32 bytes/],
    [`${key}`, /entry 1/],
    [`k1:${key},k1:${key}`, /listed twice/],
    [`k1:${key}x`, /standard base64/],
    [`bad id:${key}`, /entry 1/],
  ] as const) {
    assert.throws(() => parseKeyRing(text), (e: Error) => e instanceof KeyRingParseError && re.test(e.message) && !e.message.includes(key.slice(0, 16)) && !e.message.includes(short.slice(0, 16)), text);
  }
});
