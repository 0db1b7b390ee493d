/**
 * A draining hub node hands its tunnels over before it empties its WireGuard
 * device (docs/architecture.md "Draining a node"): it asks its own node's
 * tunnel-proxy to let go of every cluster's subjects and to finish the calls
 * it already took, and only then drops the peers. A call in flight when the
 * peers go would hang until its deadline; a call that finds no responder is
 * refused with CLUSTER_MOVING, which callers of idempotent requests retry.
 */
import { tunnelSubject, type Logger, type NatsConnection } from "@daalu/runtime";

/** How long a draining node waits for its tunnel-proxy's answer (it finishes in-flight calls first, ≤ 5 s). */
const RELEASE_TIMEOUT_MS = 8_000;

/** The subject node `nodeId`'s tunnel-proxies answer once they serve none of its clusters and their calls are done. */
export function nodeReleaseSubject(prefix: string, nodeId: string): string {
  return tunnelSubject(prefix, "_", nodeId, "Release");
}

/**
 * Asks the node's tunnel-proxy to release its clusters and waits for its
 * answer. Never throws: no tunnel-proxy (none runs on this node, or it stopped
 * first) or no answer in time only means the drain goes on as before.
 */
export async function releaseNodeTunnels(nc: NatsConnection, prefix: string, nodeId: string, log: Logger, timeoutMs = RELEASE_TIMEOUT_MS): Promise<void> {
  const started = Date.now();
  try {
    await nc.request(nodeReleaseSubject(prefix, nodeId), new Uint8Array(0), { timeout: timeoutMs });
    log.info({ tookMs: Date.now() - started }, "draining: this node's tunnel-proxy let go of its clusters and finished its calls");
  } catch (err) {
    log.warn({ err: err instanceof Error ? err.message : String(err), tookMs: Date.now() - started }, "draining: this node's tunnel-proxy did not confirm it let go; emptying the device anyway");
  }
}
