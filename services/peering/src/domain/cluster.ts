/**
 * Cluster rules: names, statuses, and what a repeated enrollment call means.
 */

/** RFC 1123 DNS label: 1-63 chars of [a-z0-9-], starting and ending alphanumeric. */
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Returns a caller-safe explanation when `name` is not a DNS label, else undefined. */
export function clusterNameProblem(name: string): string | undefined {
  if (name.length === 0) return "cluster name is required";
  if (name.length > 63) return `cluster name "${name.slice(0, 20)}…" is ${name.length} characters; at most 63 are allowed`;
  if (!DNS_LABEL.test(name)) {
    return `cluster name "${name}" is not a DNS label: use lower-case letters, digits and '-', starting and ending with a letter or digit`;
  }
  return undefined;
}

/** Stored status values: the ClusterStatus enum names in lower snake case. */
export const CLUSTER_STATUSES = ["pending_enrollment", "awaiting_handshake", "connected", "disconnected", "error"] as const;
export type ClusterStatusName = (typeof CLUSTER_STATUSES)[number];

/** UUIDs are cluster ids; anything else cannot name a cluster (the runtime's one UUID check). */
export { isUuid } from "@daalu/runtime/pure";

/** The enrollment columns of a cluster row that decide what a Reserve call does. */
export interface EnrollmentState {
  publicKey: string | null;
  lastEnrollmentId: string | null;
  pendingEnrollmentId: string | null;
  pendingPublicKey: string | null;
}

/** What else the database knows that decides a reservation. */
export interface ReserveFacts {
  /** The enrollment id was committed before (for any cluster): an old, superseded invite. */
  enrollmentUsed: boolean;
  /** Another cluster holds the key, enrolled or pending. */
  keyInUse: boolean;
}

/**
 * What a ReserveEnrollment call means given the row, in this order:
 *  - "pending-replay": the same enrollment is already reserved with the same key;
 *  - "committed-replay": the same enrollment was already committed with the same key;
 *  - "key-mismatch": the same enrollment id with another key (a confused caller);
 *  - "busy": another enrollment is in flight for this cluster;
 *  - "enrollment-used": the enrollment id was committed before (a late replay of a superseded invite);
 *  - "key-in-use": another cluster holds the key;
 *  - "reserve": a fresh reservation.
 *
 * The one rule for both reservation paths: the locked path calls it, the
 * single-statement fast path is its "reserve" row in SQL (reserveStatement),
 * and test/enrollment-decisions.test.ts runs one table against both.
 */
export type ReserveDecision = "pending-replay" | "committed-replay" | "key-mismatch" | "busy" | "enrollment-used" | "key-in-use" | "reserve";

export function decideReserve(s: EnrollmentState, enrollmentId: string, publicKey: string, facts: ReserveFacts): ReserveDecision {
  if (s.pendingEnrollmentId === enrollmentId) return s.pendingPublicKey === publicKey ? "pending-replay" : "key-mismatch";
  if (s.lastEnrollmentId === enrollmentId && s.pendingEnrollmentId === null) return s.publicKey === publicKey ? "committed-replay" : "key-mismatch";
  if (s.pendingEnrollmentId !== null) return "busy";
  if (facts.enrollmentUsed) return "enrollment-used";
  if (facts.keyInUse) return "key-in-use";
  return "reserve";
}

/** What a CommitEnrollment call means: apply the pending key, replay a done commit, or refuse. */
export type CommitDecision = "commit" | "replay" | "not-pending";

export function decideCommit(s: EnrollmentState, enrollmentId: string): CommitDecision {
  if (s.pendingEnrollmentId === enrollmentId) return "commit";
  if (s.lastEnrollmentId === enrollmentId) return "replay";
  return "not-pending";
}
