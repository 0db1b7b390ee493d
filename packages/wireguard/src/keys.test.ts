import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createPublicKey, diffieHellman, generateKeyPairSync, randomBytes, type KeyObject } from "node:crypto";
import { generateKeyPair, isLowOrderPublicKey, LOW_ORDER_PUBLIC_KEYS as LOW_ORDER_KEYS, isValidKey, isValidPublicKey, keyFromHex, keyToHex, publicKeyOf } from "./keys.js";

test("generated keys are valid and the public key derives from the private one", () => {
  const kp = generateKeyPair();
  assert.ok(isValidKey(kp.privateKey));
  assert.ok(isValidKey(kp.publicKey));
  assert.equal(publicKeyOf(kp.privateKey), kp.publicKey);
  assert.equal(keyFromHex(keyToHex(kp.publicKey)), kp.publicKey);
});

test("derivation matches `wg pubkey` where wg is installed", (t) => {
  let wg = true;
  try {
    execFileSync("wg", ["--version"]);
  } catch {
    wg = false;
  }
  if (!wg) return t.skip("wg (wireguard-tools) not installed");
  const priv = execFileSync("wg", ["genkey"]).toString().trim();
  const pub = execFileSync("wg", ["pubkey"], { input: priv }).toString().trim();
  assert.equal(publicKeyOf(priv), pub);
});

test("malformed keys are refused", () => {
  for (const bad of ["", "abc", "A".repeat(44), Buffer.alloc(31).toString("base64"), Buffer.alloc(33).toString("base64"), `${Buffer.alloc(32).toString("base64")} `, "!!!!" + Buffer.alloc(32).toString("base64").slice(4)]) {
    assert.equal(isValidKey(bad), false, JSON.stringify(bad));
  }
  assert.equal(isValidKey(Buffer.alloc(32, 7).toString("base64")), true);
});

test("low-order public keys are refused, real ones accepted", () => {
  assert.equal(LOW_ORDER_KEYS.length, 14);
  for (const k of LOW_ORDER_KEYS) {
    assert.equal(isValidKey(k), true, `${k} is well-formed`);
    assert.equal(isLowOrderPublicKey(k), true, k);
    assert.equal(isValidPublicKey(k), false, k);
  }
  for (let i = 0; i < 50; i++) assert.equal(isValidPublicKey(generateKeyPair().publicKey), true);
  assert.equal(isValidPublicKey(Buffer.alloc(32, 7).toString("base64")), true, "an arbitrary 32-byte string is a point on the curve or its twist, not of small order");
  assert.equal(isValidPublicKey("not a key"), false);
});

/**
 * The oracle for the list: X25519 of a random scalar with the key, through
 * OpenSSL, is all zero (or refused) exactly for the points of small order.
 */
function computedLowOrder(probe: KeyObject, publicKey: string): boolean {
  const spki = Buffer.concat([Buffer.from("302a300506032b656e032100", "hex"), Buffer.from(publicKey, "base64")]);
  try {
    return diffieHellman({ privateKey: probe, publicKey: createPublicKey({ key: spki, format: "der", type: "spki" }) }).every((b) => b === 0);
  } catch (err) {
    if ((err as { code?: string }).code === "ERR_OSSL_FAILED_DURING_DERIVATION") return true;
    throw err;
  }
}

test("the low-order list agrees with X25519 itself, on every entry and on random keys", () => {
  const probe = generateKeyPairSync("x25519").privateKey;
  for (const k of LOW_ORDER_KEYS) assert.equal(computedLowOrder(probe, k), true, `${k} is of small order`);
  for (let i = 0; i < 5000; i++) {
    const bytes = randomBytes(32);
    if (i % 2 === 0) bytes[31]! |= 0x80;
    const k = bytes.toString("base64");
    assert.equal(isLowOrderPublicKey(k), computedLowOrder(probe, k), k);
  }
});
