import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Secret tokens, the one scheme behind API tokens (`dak1_`) and invite tokens
 * (`dfi1_`): `<prefix><selector>_<verifier>`.
 *
 * - selector: random bytes (16), base64url. Stored in clear, unique: it only
 *   finds the row, it grants nothing.
 * - verifier: random bytes (32), base64url — the secret. Only sha256 of it is
 *   stored. A fast hash is right: the secret is uniformly random, so there is
 *   nothing for a slow KDF to protect.
 *
 * Both parts have fixed lengths, so the `_` that base64url may contain never
 * makes parsing ambiguous, and both must be in canonical base64url (the spare
 * bits of the last character zero), so exactly one string spells each token.
 * The presented verifier is compared in constant time, and a token whose
 * selector is unknown is compared against a dummy hash, so an unknown
 * selector and a wrong verifier cost the same work. Pure: no I/O beyond
 * node:crypto.
 */
export interface SecretTokenOptions {
  /** Including its separator, e.g. "dak1_". */
  prefix: string;
  /**
   * What sha256 covers, fixed per token kind because stored hashes depend on
   * it: the verifier's decoded bytes ("bytes", invite tokens) or its base64url
   * text ("text", API tokens).
   */
  hashOf: "bytes" | "text";
  selectorBytes?: number;
  verifierBytes?: number;
  /** The constant-time compare of two 32-byte hashes (tests observe it). */
  equal?: (a: Buffer, b: Buffer) => boolean;
}

export interface NewSecretToken {
  /** The full token: the only copy of the secret, shown once. */
  token: string;
  selector: string;
  /** What the database keeps. */
  verifierHash: Buffer;
}

export interface ParsedSecretToken {
  selector: string;
  /** The verifier as presented (canonical base64url). */
  verifier: string;
}

export interface SecretTokenScheme {
  readonly prefix: string;
  /** Every token of the scheme has exactly this length. */
  readonly length: number;
  /** A fresh token; `random` is for tests. */
  generate(random?: (n: number) => Buffer): NewSecretToken;
  /** Splits a presented token, or undefined when it is not exactly in the format (length checked first). */
  parse(token: unknown): ParsedSecretToken | undefined;
  /** The stored form of a verifier. */
  hash(verifier: string): Buffer;
  /**
   * True when `verifier` hashes to `storedHash`, compared in constant time.
   * `storedHash` undefined (unknown selector) still hashes and compares, and is false.
   */
  verify(verifier: string, storedHash: Uint8Array | undefined): boolean;
}

export function sha256(data: string | Uint8Array): Buffer {
  return createHash("sha256").update(data).digest();
}

/** base64url of exactly `bytes` bytes, in its one canonical spelling. */
function isCanonicalBase64url(s: string, bytes: number): boolean {
  const decoded = Buffer.from(s, "base64url");
  return decoded.length === bytes && decoded.toString("base64url") === s;
}

// Compared against when the selector is unknown, so both outcomes do the same work.
const DUMMY_HASH = Buffer.alloc(32);

export function secretTokenScheme(opts: SecretTokenOptions): SecretTokenScheme {
  const { prefix, hashOf } = opts;
  const selectorBytes = opts.selectorBytes ?? 16;
  const verifierBytes = opts.verifierBytes ?? 32;
  const equal = opts.equal ?? timingSafeEqual;
  const sl = Math.ceil((selectorBytes * 4) / 3);
  const vl = Math.ceil((verifierBytes * 4) / 3);
  const length = prefix.length + sl + 1 + vl;

  const hash = (verifier: string): Buffer => sha256(hashOf === "bytes" ? Buffer.from(verifier, "base64url") : verifier);

  return {
    prefix,
    length,
    hash,
    generate(random = randomBytes) {
      const s = random(selectorBytes);
      const v = random(verifierBytes);
      if (s.length !== selectorBytes || v.length !== verifierBytes) throw new Error("random source returned the wrong length");
      const selector = s.toString("base64url");
      const verifier = v.toString("base64url");
      return { token: `${prefix}${selector}_${verifier}`, selector, verifierHash: hash(verifier) };
    },
    parse(token) {
      if (typeof token !== "string" || token.length !== length || !token.startsWith(prefix)) return undefined;
      // Split by position: the base64url alphabet includes "_".
      const selector = token.slice(prefix.length, prefix.length + sl);
      if (token[prefix.length + sl] !== "_") return undefined;
      const verifier = token.slice(prefix.length + sl + 1);
      if (!isCanonicalBase64url(selector, selectorBytes) || !isCanonicalBase64url(verifier, verifierBytes)) return undefined;
      return { selector, verifier };
    },
    verify(verifier, storedHash) {
      const presented = hash(verifier);
      const stored = storedHash && storedHash.length === presented.length ? Buffer.from(storedHash.buffer, storedHash.byteOffset, storedHash.byteLength) : undefined;
      const same = equal(presented, stored ?? DUMMY_HASH);
      return stored !== undefined && same;
    },
  };
}
