import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { MAX_TOKEN_LENGTH, generateToken, hashVerifier, parseToken, verifyToken } from "./token.js";

test("a new token has the dfi1_<selector>_<verifier> shape and 256 bits of verifier", () => {
  const t = generateToken();
  assert.match(t.token, /^dfi1_[A-Za-z0-9_-]{22}_[A-Za-z0-9_-]{43}$/);
  const p = parseToken(t.token);
  assert.ok(p);
  assert.equal(p.selector, t.selector);
  assert.equal(p.verifier.length, 32);
  assert.deepEqual(t.verifierHash, createHash("sha256").update(p.verifier).digest());
  // The token itself is not what is stored.
  assert.ok(!t.token.includes(t.verifierHash.toString("base64url")));
});

test("tokens do not repeat", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 1000; i++) seen.add(generateToken().token);
  assert.equal(seen.size, 1000);
});

test("selector and verifier may contain '_' and still parse unambiguously", () => {
  // 0xff bytes encode as "_" in base64url.
  const t = generateToken((n) => Buffer.alloc(n, 0xff));
  assert.ok(t.selector.startsWith("___"));
  const p = parseToken(t.token);
  assert.ok(p);
  assert.equal(p.selector, t.selector);
  assert.deepEqual(p.verifier, Buffer.alloc(32, 0xff));
});

test("parseToken refuses anything outside the format", () => {
  const good = generateToken().token;
  const bad = [
    "",
    "dfi1_",
    good.slice(0, -1),
    `${good}A`,
    good.replace("dfi1_", "dfi2_"),
    good.replace(/.$/, "!"),
    `${good.slice(0, 10)} ${good.slice(11)}`,
    `${good.slice(0, 27)}.${good.slice(28)}`, // the separator must be "_"
    "x".repeat(MAX_TOKEN_LENGTH + 1),
    `dfi1_${"A".repeat(21)}B_${"A".repeat(43)}`, // non-canonical selector (spare bits set)
    `dfi1_${"A".repeat(22)}_${"A".repeat(42)}B`, // non-canonical verifier
    "dfi1_AAAAAAAAAAAAAAAAAAAAAA_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
  ];
  for (const b of bad) assert.equal(parseToken(b), undefined, `accepted ${JSON.stringify(b)}`);
  assert.equal(parseToken(123 as unknown as string), undefined);
});

test("verifyToken accepts only the matching verifier", () => {
  const t = generateToken();
  const p = parseToken(t.token)!;
  assert.equal(verifyToken(p.verifier, t.verifierHash), true);
  const other = parseToken(generateToken().token)!;
  assert.equal(verifyToken(other.verifier, t.verifierHash), false);
  // One flipped bit.
  const flipped = Buffer.from(p.verifier);
  flipped[31] = flipped[31]! ^ 1;
  assert.equal(verifyToken(flipped, t.verifierHash), false);
});

test("verifyToken with no stored hash (unknown selector) does the same work and is false", () => {
  const p = parseToken(generateToken().token)!;
  assert.equal(verifyToken(p.verifier, undefined), false);
  // An all-zero stored hash (what unknown selectors compare against) never matches a real verifier.
  assert.equal(verifyToken(p.verifier, Buffer.alloc(32)), false);
  // A stored hash of the wrong length is refused, not thrown on.
  assert.equal(verifyToken(p.verifier, Buffer.alloc(16)), false);
  // A Uint8Array view (as a driver may return) works like a Buffer.
  const h = hashVerifier(p.verifier);
  assert.equal(verifyToken(p.verifier, new Uint8Array(h)), true);
});
