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
