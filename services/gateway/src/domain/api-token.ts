import { secretTokenScheme } from "@daalu/runtime/pure";

/**
 * API tokens: `dak1_<selector>_<verifier>`, the runtime's secret-token scheme
 * (fixed lengths, canonical base64url, constant-time compare, a dummy compare
 * for unknown selectors). The stored hash is sha256 of the verifier's
 * base64url text — what every API token in the database was issued with.
 */
export const apiTokens = secretTokenScheme({ prefix: "dak1_", hashOf: "text" });

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

/** Extracts the bearer credential from an Authorization header value. */
export function bearer(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return m?.[1];
}
