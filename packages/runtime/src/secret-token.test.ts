import { test } from "node:test";
import assert from "node:assert/strict";
import { timingSafeEqual } from "node:crypto";
import { secretTokenScheme, sha256 } from "./secret-token.js";

const bytesScheme = secretTokenScheme({ prefix: "tst1_", hashOf: "bytes" });
const textScheme = secretTokenScheme({ prefix: "tst2_", hashOf: "text" });

test("a generated token parses back and verifies against its own stored hash only", () => {
  for (const scheme of [bytesScheme, textScheme]) {
    const t = scheme.generate();
    assert.match(t.token, new RegExp(`^${scheme.prefix}[A-Za-z0-9_-]{22}_[A-Za-z0-9_-]{43}$`));
    assert.equal(t.token.length, scheme.length);
    const p = scheme.parse(t.token);
    assert.ok(p);
    assert.equal(p.selector, t.selector);
    assert.equal(scheme.verify(p.verifier, t.verifierHash), true);
    assert.equal(scheme.verify(p.verifier, scheme.generate().verifierHash), false);
    // The token itself is not what is stored.
    assert.ok(!t.token.includes(t.verifierHash.toString("base64url")));
  }
});

test("the stored hash covers the verifier's bytes or its text, as the scheme says", () => {
  const random = (n: number) => Buffer.alloc(n, 7);
  const b = bytesScheme.generate(random);
  const t = textScheme.generate(random);
  const verifier = Buffer.alloc(32, 7);
  assert.deepEqual(b.verifierHash, sha256(verifier));
  assert.deepEqual(t.verifierHash, sha256(verifier.toString("base64url")));
  // A hash of one kind never verifies under the other.
  assert.equal(textScheme.verify(bytesScheme.parse(b.token)!.verifier, b.verifierHash), false);
});

test("tokens do not repeat", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 1000; i++) seen.add(bytesScheme.generate().token);
  assert.equal(seen.size, 1000);
});

test("selector and verifier may contain '_' and still split at the right place", () => {
  // 0xff bytes encode as "_" in base64url.
  const t = bytesScheme.generate((n) => Buffer.alloc(n, 0xff));
  assert.ok(t.selector.startsWith("___"));
  const p = bytesScheme.parse(t.token);
  assert.equal(p?.selector, t.selector);
  assert.equal(bytesScheme.verify(p!.verifier, t.verifierHash), true);
});

test("a non-canonical last character is refused (exactly one spelling per token)", () => {
  // 22 chars carry 132 bits for 128: "A" ends a canonical selector, "B" sets a spare bit but decodes to the same bytes.
  const good = `tst1_${"A".repeat(22)}_${"A".repeat(43)}`;
  assert.ok(bytesScheme.parse(good));
  assert.equal(bytesScheme.parse(`tst1_${"A".repeat(21)}B_${"A".repeat(43)}`), undefined);
  assert.equal(bytesScheme.parse(`tst1_${"A".repeat(22)}_${"A".repeat(42)}B`), undefined);
  assert.equal(textScheme.parse(`tst2_${"A".repeat(22)}_${"A".repeat(42)}B`), undefined);
});

test("anything outside the format is refused", () => {
  const good = bytesScheme.generate().token;
  const bad = [
    "",
    "tst1_",
    good.slice(0, -1),
    `${good}A`,
    good.replace("tst1_", "tst2_"),
    good.replace(/.$/, "!"),
    `${good.slice(0, 10)} ${good.slice(11)}`,
    `${good.slice(0, 27)}.${good.slice(28)}`, // the separator must be "_"
    `${good.slice(0, 10)}+${good.slice(11)}`, // base64, not base64url
    "x".repeat(1000),
    `tst1_${"A".repeat(22)}_${"A".repeat(42)}\n`,
  ];
  for (const b of bad) assert.equal(bytesScheme.parse(b), undefined, `accepted ${JSON.stringify(b)}`);
  assert.equal(bytesScheme.parse(123), undefined);
});

test("an unknown selector (no stored hash) still runs the constant-time compare, and is false", () => {
  const calls: [Buffer, Buffer][] = [];
  // A compare that says "equal" to everything: the result must still be false without a stored hash.
  const spied = secretTokenScheme({ prefix: "tst1_", hashOf: "bytes", equal: (a, b) => (calls.push([a, b]), true) });
  const t = spied.generate();
  const p = spied.parse(t.token)!;
  assert.equal(spied.verify(p.verifier, undefined), false);
  assert.equal(calls.length, 1, "the compare ran once");
  assert.equal(calls[0]![0].length, 32);
  assert.equal(calls[0]![1].length, 32);
  // A stored hash of the wrong length is compared against the dummy too, and refused.
  assert.equal(spied.verify(p.verifier, Buffer.alloc(16)), false);
  assert.equal(calls.length, 2);
  // A known selector compares against its stored hash.
  assert.equal(spied.verify(p.verifier, t.verifierHash), true);
  assert.ok(timingSafeEqual(calls[2]![1], t.verifierHash));
});

test("verify refuses near misses and accepts a Uint8Array view of the stored hash", () => {
  const t = bytesScheme.generate();
  const p = bytesScheme.parse(t.token)!;
  assert.equal(bytesScheme.verify(p.verifier, Buffer.alloc(32)), false);
  const flipped = Buffer.from(t.verifierHash);
  flipped[31] = flipped[31]! ^ 1;
  assert.equal(bytesScheme.verify(p.verifier, flipped), false);
  assert.equal(bytesScheme.verify(p.verifier, new Uint8Array(t.verifierHash)), true);
});
