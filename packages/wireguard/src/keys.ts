import { createPrivateKey, createPublicKey, generateKeyPairSync, createHash } from "node:crypto";

/**
 * WireGuard keys are Curve25519 (X25519) keys, 32 bytes, written as standard
 * base64 (44 chars). Generated and derived with node:crypto (OpenSSL), never
 * by hand.
 */
export interface KeyPair {
  privateKey: string;
  publicKey: string;
}

const KEY_RE = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

/** True for base64 of exactly 32 bytes in canonical form. */
export function isValidKey(key: string): boolean {
  if (typeof key !== "string" || !KEY_RE.test(key)) return false;
  return Buffer.from(key, "base64").length === 32;
}

/**
 * The points of small order on Curve25519 as u-coordinates below 2^255 (the
 * top bit of a key is ignored by X25519, RFC 7748 §5): 0, 1, the two points of
 * order 8, p - 1, p and p + 1 — libsodium's blocklist. X25519 with any private
 * key gives the all-zero shared secret for these, so a peer holding one can
 * never have a session. Above p + 1 the order-8 points plus p would need
 * 256 bits, so the list is complete; packages/wireguard/src/keys.test.ts
 * checks it against the computed test (X25519 with a random scalar) on every
 * entry and on random keys.
 */
const LOW_ORDER_POINTS: readonly Buffer[] = [
  "0000000000000000000000000000000000000000000000000000000000000000", // 0 (order 4)
  "0100000000000000000000000000000000000000000000000000000000000000", // 1 (order 1)
  "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", // order 8
  "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157", // order 8
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p - 1 (order 2)
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p (= 0)
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p + 1 (= 1)
].map((hex) => Buffer.from(hex, "hex"));

/** The low-order points as keys, each also with the (ignored) top bit set. */
export const LOW_ORDER_PUBLIC_KEYS: readonly string[] = LOW_ORDER_POINTS.flatMap((point) => {
  const high = Buffer.from(point);
  high[31]! |= 0x80;
  return [point.toString("base64"), high.toString("base64")];
});

/**
 * True when `publicKey` (a valid key, see isValidKey) is a point of small
 * order on Curve25519. A comparison with the list above: the computed test
 * (X25519 with a throwaway scalar through OpenSSL) cost 0.15 ms per key and
 * ran twice per redemption, a third of the enrollment's CPU regression.
 */
export function isLowOrderPublicKey(publicKey: string): boolean {
  const u = Buffer.from(publicKey, "base64");
  u[31]! &= 0x7f;
  return LOW_ORDER_POINTS.some((point) => point.equals(u));
}

/** A key a peer can use: well-formed (isValidKey) and not a low-order point. */
export function isValidPublicKey(key: string): boolean {
  return isValidKey(key) && !isLowOrderPublicKey(key);
}

function b64urlToB64(s: string): string {
  return Buffer.from(s, "base64url").toString("base64");
}

/** A fresh X25519 key pair. */
export function generateKeyPair(): KeyPair {
  const { privateKey } = generateKeyPairSync("x25519");
  const jwk = privateKey.export({ format: "jwk" });
  return { privateKey: b64urlToB64(jwk.d!), publicKey: b64urlToB64(jwk.x!) };
}

/** The public key of a private key (what `wg pubkey` prints). */
export function publicKeyOf(privateKey: string): string {
  if (!isValidKey(privateKey)) throw new Error("invalid WireGuard private key");
  const d = Buffer.from(privateKey, "base64").toString("base64url");
  // The JWK needs x too; derive it by importing d alone through PKCS#8.
  const pkcs8 = Buffer.concat([Buffer.from("302e020100300506032b656e04220420", "hex"), Buffer.from(d, "base64url")]);
  const key = createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" });
  const jwk = createPublicKey(key).export({ format: "jwk" });
  return b64urlToB64(jwk.x!);
}

/** Hex form used by the UAPI (`private_key=`, `public_key=`). */
export function keyToHex(key: string): string {
  return Buffer.from(key, "base64").toString("hex");
}

export function keyFromHex(hex: string): string {
  return Buffer.from(hex, "hex").toString("base64");
}

/** Short, log-safe fingerprint of a public key (first 8 bytes of its SHA-256). */
export function fingerprint(publicKey: string): string {
  return createHash("sha256").update(Buffer.from(publicKey, "base64")).digest("hex").slice(0, 16);
}
