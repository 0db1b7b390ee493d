/**
 * Completes the rows of sessions whose tunnel-proxy died (session-owners.ts):
 * listens to every instance's heartbeat and, every quarter of the owner
 * timeout, marks the open rows (session_phase 1) of each owner not heard from
 * for `ownerTimeoutMs` as interrupted (phase 3), ended at its last heartbeat.
 * Every replica sweeps (the UPDATE only touches phase 1, so the first one
 * wins); a late end record still completes the row (store.ts).
 *
 * Its own NATS is the weak point: a replica cut off from NATS hears no one and
 * would mark every live session. So it publishes its own probe on the same
 * subject and sweeps only while that probe comes back and after it has been
 * listening, without a gap, for a whole timeout (after a start or a
 * reconnection, owners it has not heard yet get a full timeout to speak).
 */
import { randomUUID } from "node:crypto";
import type { Logger, NatsConnection } from "@daalu/runtime";
import { publishOwnerHeartbeat, sessionOwnersAliveSubject } from "../../session-owners.js";
import type { AuditStore } from "../pg/store.js";

export interface SessionSweeperOptions {
  nc: NatsConnection;
  prefix: string;
  store: Pick<AuditStore, "openSessionOwners" | "interruptSessions">;
  /** An owner silent this long is gone. */
  ownerTimeoutMs: number;
  logger: Logger;
}

/** The close reason of a row whose tunnel-proxy stopped; stable prefix "interrupted:". */
export function interruptedReason(owner: string, ownerTimeoutMs: number, lastSeen: Date | undefined): string {
  const seen = lastSeen ? `last heartbeat ${lastSeen.toISOString()}` : "no heartbeat seen since the audit service started";
  return `interrupted: the hub's tunnel-proxy carrying the session stopped (instance ${owner}, silent for over ${ownerTimeoutMs} ms, ${seen})`;
}

export function startSessionSweeper(o: SessionSweeperOptions): { stop(): Promise<void> } {
  const self = `audit-probe-${randomUUID()}`;
  const lastSeen = new Map<string, number>();
  let heardSelf = 0;
  let listeningSince = 0;
  const sub = o.nc.subscribe(sessionOwnersAliveSubject(o.prefix), {
    callback: (_err, m) => {
      const id = m?.string();
      if (!id) return;
      const now = Date.now();
      if (id !== self) return void lastSeen.set(id, now);
      // A gap in our own probe means we may have missed others' beats: listen a whole timeout again.
      if (now - heardSelf > o.ownerTimeoutMs / 2) listeningSince = now;
      heardSelf = now;
    },
  });
  const probe = publishOwnerHeartbeat(o.nc, o.prefix, self, Math.max(100, Math.floor(o.ownerTimeoutMs / 5)));
  let running: Promise<void> | undefined;
  const sweep = async () => {
    const now = Date.now();
    if (now - heardSelf > o.ownerTimeoutMs / 2 || now - listeningSince < o.ownerTimeoutMs) return;
    for (const owner of await o.store.openSessionOwners()) {
      const seen = lastSeen.get(owner);
      if (seen !== undefined && now - seen <= o.ownerTimeoutMs) continue;
      const at = seen !== undefined ? new Date(seen) : undefined;
      const n = await o.store.interruptSessions(owner, at ?? new Date(now - o.ownerTimeoutMs), interruptedReason(owner, o.ownerTimeoutMs, at));
      if (n > 0) o.logger.warn({ owner, sessions: n, lastSeen: at }, "marked the open sessions of a stopped tunnel-proxy interrupted");
    }
    // Forget owners silent for long (their rows were swept): the map stays as small as the live fleet.
    for (const [id, t] of lastSeen) if (now - t > o.ownerTimeoutMs * 100) lastSeen.delete(id);
  };
  const timer = setInterval(() => {
    running ??= sweep()
      .catch((err) => o.logger.warn({ err }, "session sweep failed; retried on the next tick"))
      .finally(() => (running = undefined));
  }, Math.max(100, Math.floor(o.ownerTimeoutMs / 4)));
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      probe.stop();
      sub.unsubscribe();
      await running;
    },
  };
}
