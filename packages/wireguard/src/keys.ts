import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, createHash, type KeyObject } from "node:crypto";

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

/** SubjectPublicKeyInfo DER prefix of an X25519 public key (RFC 8410); the 32 key bytes follow. */
const X25519_SPKI_PREFIX = Buffer.from("302a300506032b656e032100", "hex");

/** A throwaway scalar for the low-order test below; its shared secrets are never used. */
let probeKey: KeyObject | undefined;

/**
 * True when `publicKey` (a valid key, see isValidKey) is a point of small
 * order on Curve25519 (all zero, u = 1, the order-8 points, p - 1, p, p + 1,
 * and their encodings with the top bit set): X25519 with any private key
 * gives the all-zero shared secret, so a peer with such a key can never have
 * a session. The test is the canonical one, computed rather than listed:
 * X25519(random scalar, key) is all zero exactly for these points, and
 * OpenSSL refuses to derive it.
 */
export function isLowOrderPublicKey(publicKey: string): boolean {
  probeKey ??= generateKeyPairSync("x25519").privateKey;
  const key = createPublicKey({ key: Buffer.concat([X25519_SPKI_PREFIX, Buffer.from(publicKey, "base64")]), format: "der", type: "spki" });
  try {
    return diffieHellman({ privateKey: probeKey, publicKey: key }).every((b) => b === 0);
  } catch (err) {
    if ((err as { code?: string }).code === "ERR_OSSL_FAILED_DURING_DERIVATION") return true;
    throw err;
  }
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
