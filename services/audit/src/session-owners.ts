/**
 * Liveness of the processes that own session rows (the tunnel-proxies). Each
 * tunnel-proxy process picks a random instance id at start, names it in every
 * session start record (Session.hub_instance) and publishes it on one core
 * NATS subject every few seconds. The audit service's sweeper
 * (adapters/nats/session-sweeper.ts) marks the open rows of an instance it
 * stopped hearing from as interrupted, so a SIGKILLed tunnel-proxy leaves no
 * row open for hours. Core NATS, not JetStream: a heartbeat is worth nothing
 * once late.
 */
import type { NatsConnection } from "@nats-io/transport-node";

/** The subject every tunnel-proxy instance publishes its id on (outside the audit stream's subjects). */
export function sessionOwnersAliveSubject(prefix: string): string {
  return `${prefix ? `${prefix}.` : ""}daalu.sessions.v1.owners.alive`;
}

/** Default period of a tunnel-proxy's heartbeat; the audit service's owner timeout must stay well above it. */
export const DEFAULT_SESSION_OWNER_HEARTBEAT_MS = 2_000;

/**
 * Publishes `instance` now and every `everyMs` until stop() (which the owner calls only after its sessions'
 * end records were published: the sweeper must not mark a draining instance).
 */
export function publishOwnerHeartbeat(nc: NatsConnection, prefix: string, instance: string, everyMs = DEFAULT_SESSION_OWNER_HEARTBEAT_MS): { stop(): void } {
  const subject = sessionOwnersAliveSubject(prefix);
  const beat = () => {
    try {
      nc.publish(subject, instance);
    } catch {
      // Closed or reconnecting: the next beat tries again; a long gap is what the sweeper is for.
    }
  };
  beat();
  const timer = setInterval(beat, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
