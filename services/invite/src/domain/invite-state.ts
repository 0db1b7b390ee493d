/**
 * The lifecycle of an invite, derived from its timestamps and `now` (never
 * stored, so it cannot drift from them). Redeemed wins over everything: a
 * burned token stays burned; revocation wins over expiry so the operator sees
 * what they did.
 */
export type InviteStatus = "pending" | "redeemed" | "expired" | "revoked";

export interface InviteTimes {
  expiresAt: Date;
  redeemedAt: Date | null;
  revokedAt: Date | null;
}

export function inviteStatus(inv: InviteTimes, now: Date): InviteStatus {
  if (inv.redeemedAt) return "redeemed";
  if (inv.revokedAt) return "revoked";
  if (now.getTime() >= inv.expiresAt.getTime()) return "expired";
  return "pending";
}

/** Expiry of an invite created at `now` with a time-to-live of `ttlMs`. */
export function expiryFor(now: Date, ttlMs: number): Date {
  return new Date(now.getTime() + ttlMs);
}

/** Why an invite cannot be regenerated, or undefined when it can (expired or revoked). */
export function regenerateRefusal(status: InviteStatus): string | undefined {
  switch (status) {
    case "expired":
    case "revoked":
      return undefined;
    case "pending":
      return "the invite is still pending: revoke it first, or create a new invite for the cluster";
    case "redeemed":
      return "the invite was already redeemed and cannot be regenerated; create a new invite for the cluster to re-enroll it";
  }
}

/** Why an invite cannot be revoked, or undefined when it can (pending; revoked is a no-op). */
export function revokeRefusal(status: InviteStatus): string | undefined {
  switch (status) {
    case "pending":
    case "revoked":
      return undefined;
    case "redeemed":
      return "the invite was already redeemed; delete or re-enroll the cluster instead";
    case "expired":
      return "the invite has already expired; there is nothing to revoke";
  }
}
