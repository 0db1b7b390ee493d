import { test } from "node:test";
import assert from "node:assert/strict";
import { generatePassword, hashPassword, verifyPassword } from "./password.js";

test("scrypt hashes verify the right password only, with a fresh salt each time", async () => {
  const h = await hashPassword("correct horse battery staple");
  assert.match(h, /^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
  assert.notEqual(h, await hashPassword("correct horse battery staple"));
  assert.equal(await verifyPassword("correct horse battery staple", h), true);
  assert.equal(await verifyPassword("correct horse battery stapl", h), false);
  assert.equal(await verifyPassword("", h), false);
});

test("no stored hash (unknown user) costs the same KDF work and is false", async () => {
  const h = await hashPassword("pw-pw-pw-pw-pw");
  const timed = async (stored: string | null) => {
    const t = process.hrtime.bigint();
    assert.equal(await verifyPassword("guess-guess-guess", stored), false);
    return Number(process.hrtime.bigint() - t) / 1e6;
  };
  const known = await timed(h);
  const unknown = await timed(null);
  // Both ran scrypt with N=2^15 (tens of ms); a skipped KDF would take well under a millisecond.
  assert.ok(unknown > 5 && known > 5, `known ${known} ms, unknown ${unknown} ms`);
  assert.equal(await verifyPassword("x", "$scrypt$ln=30,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), false);
  assert.equal(await verifyPassword("x", "garbage"), false);
});

test("generated passwords are long and distinct", () => {
  const a = generatePassword();
  assert.equal(a.length, 24);
  assert.notEqual(a, generatePassword());
});
