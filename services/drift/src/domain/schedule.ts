/**
 * When a cluster's scheduled check is due. Each cluster keeps a fixed phase
 * inside its interval, taken from a hash of its id, so clusters opted in at
 * the same moment (or a hub restarted with 1,000 of them) spread evenly over
 * the interval instead of firing together. Pure: the caller passes the clock.
 */
import { createHash } from "node:crypto";

export const DEFAULT_INTERVAL_SECONDS = 300;
export const MIN_INTERVAL_SECONDS = 30;
export const MAX_INTERVAL_SECONDS = 86_400;

/** The cluster's phase in [0, intervalMs). */
export function phaseOf(clusterId: string, intervalMs: number): number {
  const h = createHash("sha256").update(clusterId).digest();
  return h.readUIntBE(0, 6) % intervalMs;
}

/** The first due time strictly after `nowMs` on the cluster's phase. */
export function nextDue(clusterId: string, intervalMs: number, nowMs: number): number {
  const phase = phaseOf(clusterId, intervalMs);
  const k = Math.floor((nowMs - phase) / intervalMs) + 1;
  return k * intervalMs + phase;
}
