import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Invite tokens: `dfi1_<selector>_<verifier>`.
 *
 * - selector: 16 random bytes, base64url (22 chars). Stored in clear, unique:
 *   it only finds the row, it grants nothing.
 * - verifier: 32 random bytes, base64url (43 chars) — the 256-bit secret.
 *   Only sha256(verifier) is stored. A fast hash is right here: the secret is
 *   uniformly random, so there is nothing for a slow KDF to protect.
 *
 * Both parts have fixed lengths, so the `_` that base64url may contain never
 * makes parsing ambiguous. Pure: no I/O beyond node:crypto.
 */
export const TOKEN_PREFIX = "dfi1_";
export const SELECTOR_BYTES = 16;
export const VERIFIER_BYTES = 32;
/** Anything longer is refused before any parsing or database work. */
export const MAX_TOKEN_LENGTH = 128;

// 22 chars of base64url carry 132 bits: the last char must leave the 4 spare bits zero.
// 43 chars carry 258 bits: the last char must leave the 2 spare bits zero.
// Requiring canonical form means exactly one string spells each token.
const TOKEN_RE = /^dfi1_([A-Za-z0-9_-]{21}[AQgw])_([A-Za-z0-9_-]{42}[AEIMQUYcgkosw048])$/;

export interface NewToken {
  /** The full token, shown to the operator exactly once. */
  token: string;
  selector: string;
  /** sha256 of the verifier bytes: what the database keeps. */
  verifierHash: Buffer;
}

export interface ParsedToken {
  selector: string;
  verifier: Buffer;
}

/** A fresh token with 256 bits of verifier randomness (plus a 128-bit selector). */
export function generateToken(random: (n: number) => Buffer = randomBytes): NewToken {
  const selectorBytes = random(SELECTOR_BYTES);
  const verifier = random(VERIFIER_BYTES);
  if (selectorBytes.length !== SELECTOR_BYTES || verifier.length !== VERIFIER_BYTES) throw new Error("random source returned the wrong length");
  const selector = selectorBytes.toString("base64url");
  return { token: `${TOKEN_PREFIX}${selector}_${verifier.toString("base64url")}`, selector, verifierHash: hashVerifier(verifier) };
}

/** Splits a presented token, or returns undefined when it is not in the format (length checked first). */
export function parseToken(token: string): ParsedToken | undefined {
  if (typeof token !== "string" || token.length > MAX_TOKEN_LENGTH) return undefined;
  const m = TOKEN_RE.exec(token);
  if (!m) return undefined;
  return { selector: m[1]!, verifier: Buffer.from(m[2]!, "base64url") };
}

export function hashVerifier(verifier: Buffer): Buffer {
  return createHash("sha256").update(verifier).digest();
}

// Compared against when the selector is unknown, so both outcomes do the same work.
const DUMMY_HASH = Buffer.alloc(32);

/**
 * True when `verifier` hashes to `storedHash`, compared in constant time.
 * `storedHash` undefined (unknown selector) still hashes and compares, and is false.
 */
export function verifyToken(verifier: Buffer, storedHash: Uint8Array | undefined): boolean {
  const presented = hashVerifier(verifier);
  const stored = storedHash && storedHash.length === presented.length ? Buffer.from(storedHash.buffer, storedHash.byteOffset, storedHash.byteLength) : undefined;
  const equal = timingSafeEqual(presented, stored ?? DUMMY_HASH);
  return stored !== undefined && equal;
}
