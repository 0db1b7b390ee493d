/**
 * Recovery sweep for enrollments left pending (the invite service crashed
 * between ReserveEnrollment and CommitEnrollment, or its commit call was lost).
 * The invite service's answer to GetRedemption is final (it waits on the
 * invite's row lock), so: redeemed with this key -> commit; anything else ->
 * release. Both are compare-and-set on the exact reservation.
 */
import { invitev1, peeringv1 } from "@daalu/proto";
import type { InviteClient } from "@daalu/invite";
import { Code, DaaluError, type Logger } from "@daalu/runtime";
import type { PeeringStore, StalePending } from "./adapters/pg/store.js";
import type { ClusterEvents } from "./adapters/nats/events.js";

export interface RecoveryDeps {
  store: PeeringStore;
  /** Only GetRedemption: the invite service's final word on a reservation. */
  invite: Pick<InviteClient, "getRedemption">;
  events: ClusterEvents;
  logger: Logger;
  pendingTimeoutMs: number;
  intervalMs: number;
}

export type RecoveryOutcome = "committed" | "released" | "skipped" | "deferred";

/** One sweep; returns what happened to each claimed reservation. */
export async function sweepOnce(d: RecoveryDeps): Promise<Array<{ pending: StalePending; outcome: RecoveryOutcome }>> {
  // The lease outlives one RPC round so that a slow answer is not worked twice.
  const stale = await d.store.claimStalePending(d.pendingTimeoutMs, Math.max(d.intervalMs * 2, 10_000));
  const results: Array<{ pending: StalePending; outcome: RecoveryOutcome }> = [];
  for (const p of stale) results.push({ pending: p, outcome: await recoverOne(d, p) });
  return results;
}

/** What settling one reservation needs (the sweep's deps without its timing). */
export type SettleDeps = Pick<RecoveryDeps, "store" | "invite" | "events" | "logger">;

/**
 * Settles the reservation a cluster holds right now, as the sweep would: a
 * new enrollment of the cluster found it in the way. The invite service
 * commits one-way after burning the token, so this is usually a redeemed
 * enrollment whose commit has not landed yet. False when the invite service
 * did not answer (the reservation stays as it is).
 */
export async function settlePending(d: SettleDeps, clusterId: string, timeoutMs: number): Promise<boolean> {
  const c = await d.store.getCluster(clusterId);
  if (!c.pendingEnrollmentId || !c.pendingPublicKey || !c.pendingSince) return true;
  const p: StalePending = { clusterId, tenantId: c.tenantId, enrollmentId: c.pendingEnrollmentId, publicKey: c.pendingPublicKey, pendingSince: c.pendingSince };
  return (await recoverOne(d, p, timeoutMs)) !== "deferred";
}

async function recoverOne(d: SettleDeps, p: StalePending, timeoutMs = 30_000): Promise<RecoveryOutcome> {
  const log = d.logger.child({ clusterId: p.clusterId, enrollmentId: p.enrollmentId });
  let state: invitev1.InviteState;
  let key = "";
  try {
    const r = await d.invite.getRedemption({ inviteId: p.enrollmentId }, { tenantId: p.tenantId, timeoutMs });
    state = r.state;
    key = r.publicKey;
  } catch (err) {
    const de = DaaluError.from(err);
    if (de.code !== Code.NotFound) {
      // Unavailable or slow: the answer is unknown, so nothing may change. Next sweep retries.
      log.warn({ code: Code[de.code], reason: de.reason }, "invite service did not answer; pending enrollment kept");
      return "deferred";
    }
    state = invitev1.InviteState.UNSPECIFIED;
  }
  try {
    if (state === invitev1.InviteState.REDEEMED && key === p.publicKey) {
      const r = await d.store.commit(p.clusterId, p.enrollmentId, { expectedPendingSince: p.pendingSince });
      if (!r.replayed) {
        const kind = r.previousPublicKey === null ? peeringv1.ClusterEventKind.ENROLLED : peeringv1.ClusterEventKind.KEY_REPLACED;
        d.events.publish({ kind, cluster: r.cluster, subnet: r.subnet, previousPublicKey: r.previousPublicKey });
      }
      log.info("recovery committed a redeemed enrollment");
      return "committed";
    }
    const released = await d.store.release(p.clusterId, p.enrollmentId, { expectedPendingSince: p.pendingSince });
    log.info({ inviteState: invitev1.InviteState[state], released }, "recovery released an unredeemed enrollment");
    return released ? "released" : "skipped";
  } catch (err) {
    const de = DaaluError.from(err);
    if (de.reason === "ENROLLMENT_NOT_PENDING" || de.reason === "CLUSTER_NOT_FOUND") return "skipped";
    log.warn({ err }, "recovery of a pending enrollment failed; retried next sweep");
    return "deferred";
  }
}

/** Runs `sweepOnce` every `intervalMs` until stopped; overlapping sweeps are skipped. */
export function startRecovery(d: RecoveryDeps): { stop(): Promise<void> } {
  let running: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = sweepOnce(d)
      .catch((err) => d.logger.warn({ err }, "recovery sweep failed"))
      .finally(() => (running = undefined));
  }, d.intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
