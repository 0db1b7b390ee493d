import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { ROLES, type Role } from "./api-token.js";

/**
 * The rules of signing in, pure apart from node:crypto: session secrets and
 * their CSRF tokens, session expiry, where a login may return to, the CLI's
 * loopback redirect and PKCE check, and the OIDC group → role map.
 */

/** Usernames: DNS-ish or an e-mail address, lower case (the users table checks the same). */
export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9._@-]{0,63}$/;

/** Lower-cased; undefined when it is no valid username. */
export function normalizeUsername(u: string): string | undefined {
  const n = u.trim().toLowerCase();
  return USERNAME_PATTERN.test(n) ? n : undefined;
}

/** A fresh secret (256 random bits, base64url): the cookie's value, a CLI code or an OIDC login key. */
export function newSecret(): string {
  return randomBytes(32).toString("base64url");
}

/** What the database keeps of a secret: its sha256 (a uniformly random secret needs no slow KDF). */
export function secretId(secret: string): Buffer {
  return createHash("sha256").update(secret).digest();
}

/**
 * The session's CSRF token, derived from its secret (HMAC-SHA256), so it is
 * stored nowhere and cannot be turned back into the secret.
 */
export function csrfTokenOf(sessionSecret: string): string {
  return createHmac("sha256", sessionSecret).update("daalu-csrf-v1").digest("base64url");
}

/** Constant-time equality of two strings of any length (both are hashed to 32 bytes first). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash("sha256").update(a).digest();
  const hb = createHash("sha256").update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

export interface SessionPolicy {
  /** Absolute lifetime from sign-in. */
  ttlMs: number;
  /** A session unused for this long ends. */
  idleMs: number;
}

/**
 * Whether a session may be used at `now`: `ok` (and whether to record the
 * use: last_seen_at is written at most every `touchEveryMs`), or `ended`.
 */
export function sessionState(
  s: { expiresAt: Date; lastSeenAt: Date; revokedAt: Date | null },
  now: number,
  policy: SessionPolicy,
): { ok: true; touch: boolean } | { ok: false } {
  if (s.revokedAt) return { ok: false };
  if (now >= s.expiresAt.getTime()) return { ok: false };
  const idle = now - s.lastSeenAt.getTime();
  if (idle >= policy.idleMs) return { ok: false };
  return { ok: true, touch: idle >= touchEveryMs(policy) };
}

function touchEveryMs(policy: SessionPolicy): number {
  return Math.min(60_000, Math.floor(policy.idleMs / 4));
}

/**
 * A post-login destination: only a relative path on this origin ("/x",
 * never "//host", "/\\host" or anything with a scheme); else "/".
 */
export function safeReturnTo(returnTo: unknown): string {
  if (typeof returnTo !== "string" || returnTo.length === 0 || returnTo.length > 2048) return "/";
  if (!returnTo.startsWith("/") || returnTo.startsWith("//") || returnTo.startsWith("/\\")) return "/";
  // Control characters and backslashes are never part of a path we issue.
  if (/[\p{Cc}\\]/u.test(returnTo)) return "/";
  const base = "http://daalu.invalid";
  try {
    const u = new URL(returnTo, base);
    if (u.origin !== base) return "/";
    return u.pathname + u.search + u.hash;
  } catch {
    return "/";
  }
}

/**
 * The CLI's redirect: http on the loopback interface with an explicit port
 * (RFC 8252 §7.3), nothing else; the normalized URL or undefined.
 */
export function loopbackRedirectUri(uri: unknown): string | undefined {
  if (typeof uri !== "string" || uri.length > 512) return undefined;
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return undefined;
  }
  if (u.protocol !== "http:" || (u.hostname !== "127.0.0.1" && u.hostname !== "localhost")) return undefined;
  if (u.port === "" || u.username !== "" || u.password !== "" || u.hash !== "") return undefined;
  return u.href;
}

/** PKCE: a code verifier (RFC 7636 §4.1); its S256 challenge is 43 base64url characters (schemas.ts). */
const PKCE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

export function pkceChallengeS256(verifier: string): string {
  return createHash("sha256").update(verifier).digest("base64url");
}

/** True when `verifier` is well-formed and hashes to `challenge` (constant-time compare). */
export function pkceMatches(verifier: string, challenge: string): boolean {
  if (!PKCE_VERIFIER.test(verifier)) return false;
  return safeEqual(pkceChallengeS256(verifier), challenge);
}

/** GATEWAY_OIDC_ROLE_MAP: `group=role,...`, `*` for everyone else. */
export type RoleMap = { groups: Map<string, Role>; fallback: Role | undefined };

/** Parses a role map; throws an Error naming the bad entry. */
export function parseRoleMap(text: string): RoleMap {
  const groups = new Map<string, Role>();
  let fallback: Role | undefined;
  for (const raw of text.split(",")) {
    const entry = raw.trim();
    if (entry === "") continue;
    const eq = entry.lastIndexOf("=");
    const group = entry.slice(0, eq).trim();
    const role = entry.slice(eq + 1).trim() as Role;
    if (eq <= 0 || group === "" || !ROLES.includes(role)) throw new Error(`"${entry}" is not group=${ROLES.join("|")}`);
    if (group === "*") fallback = role;
    else groups.set(group, role);
  }
  return { groups, fallback };
}

/**
 * The strongest role any of the user's groups maps to; the `*` role when
 * none does; undefined when there is neither (the login is refused).
 */
export function roleForGroups(map: RoleMap, claim: unknown): Role | undefined {
  const groups = typeof claim === "string" ? [claim] : Array.isArray(claim) ? claim.filter((g): g is string => typeof g === "string") : [];
  let best: Role | undefined;
  for (const g of groups) {
    const r = map.groups.get(g);
    if (r && (best === undefined || ROLES.indexOf(r) < ROLES.indexOf(best))) best = r;
  }
  return best ?? map.fallback;
}
