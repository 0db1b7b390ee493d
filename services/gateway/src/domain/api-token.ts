import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * API tokens: `dak1_<selector>_<verifier>`. The selector (16 random bytes)
 * finds the row; only sha256(verifier) (32 random bytes) is stored and it is
 * compared in constant time, so a database leak yields no usable token and a
 * lookup by selector leaks no timing about the secret part.
 */
export const API_TOKEN_PREFIX = "dak1";
const SELECTOR_BYTES = 16;
const VERIFIER_BYTES = 32;
const B64URL = /^[A-Za-z0-9_-]+$/;

/** admin ⊇ operator ⊇ viewer: see roleAtLeast. */
export type Role = "admin" | "operator" | "viewer";
export type CallerKindName = "user" | "assistant" | "agent";
/** Strongest first. */
export const ROLES: readonly Role[] = ["admin", "operator", "viewer"];
export const CALLER_KINDS: readonly CallerKindName[] = ["user", "assistant", "agent"];

/** True when `role` grants everything `min` grants (admin ⊇ operator ⊇ viewer). */
export function roleAtLeast(role: Role, min: Role): boolean {
  const r = ROLES.indexOf(role);
  return r >= 0 && r <= ROLES.indexOf(min);
}

export interface NewApiToken {
  /** The only copy of the secret; shown once. */
  token: string;
  selector: string;
  verifierHash: Buffer;
}

export function generateApiToken(): NewApiToken {
  const selector = randomBytes(SELECTOR_BYTES).toString("base64url");
  const verifier = randomBytes(VERIFIER_BYTES).toString("base64url");
  return { token: `${API_TOKEN_PREFIX}_${selector}_${verifier}`, selector, verifierHash: sha256(verifier) };
}

export interface ParsedApiToken {
  selector: string;
  verifier: string;
}

/** Splits a presented token; undefined when it cannot be one of ours. */
export function parseApiToken(token: string): ParsedApiToken | undefined {
  // base64url of 16 bytes is 22 chars, of 32 bytes 43 chars; the alphabet includes "_",
  // so split by position rather than by separator.
  const sl = Math.ceil((SELECTOR_BYTES * 4) / 3);
  const vl = Math.ceil((VERIFIER_BYTES * 4) / 3);
  const head = `${API_TOKEN_PREFIX}_`;
  if (token.length !== head.length + sl + 1 + vl || !token.startsWith(head)) return undefined;
  const selector = token.slice(head.length, head.length + sl);
  if (token[head.length + sl] !== "_") return undefined;
  const verifier = token.slice(head.length + sl + 1);
  if (!B64URL.test(selector) || !B64URL.test(verifier)) return undefined;
  return { selector, verifier };
}

export function sha256(v: string): Buffer {
  return createHash("sha256").update(v).digest();
}

/** Constant-time check of a presented verifier against the stored hash. */
export function verifierMatches(verifier: string, storedHash: Uint8Array): boolean {
  const h = sha256(verifier);
  return storedHash.length === h.length && timingSafeEqual(h, storedHash);
}

/** Extracts the bearer credential from an Authorization header value. */
export function bearer(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return m?.[1];
}
