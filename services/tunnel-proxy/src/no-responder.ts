/**
 * A tunnel subject nobody answers. With several hub nodes (TUNNEL_PROXY_NODE_ID,
 * adapters/nats/home-routing.ts) that is the short window while a cluster moves
 * between nodes: the old node has let go of its subjects, the new one has not
 * taken them yet. Every tunnel-proxy answers one shared "alive" subject, so one
 * more request tells the two cases apart: some tunnel-proxy runs (it answers,
 * or is subscribed but slow to) → 503 CLUSTER_MOVING (retry after a second);
 * none → 503 TUNNEL_UNAVAILABLE, as before. Only the error path pays for the
 * extra request.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { Code, DaaluError, tunnelSubject } from "@daalu/runtime";

/** Seconds a client should wait before retrying a call that met a moving cluster (the gateway's Retry-After). */
export const CLUSTER_MOVING_RETRY_AFTER_S = 1;

/** The subject every tunnel-proxy answers (queue group), beside the per-cluster ones. */
export function aliveSubject(prefix: string): string {
  return tunnelSubject(prefix, "_", "_", "Alive");
}

/** `subject`'s prefix (whatever stands before `daalu.tunnel.v1.`), or undefined for a subject outside the tunnel. */
function prefixOf(subject: string): string | undefined {
  const i = subject.indexOf("daalu.tunnel.v1.");
  return i < 0 ? undefined : i === 0 ? "" : subject.slice(0, i - 1);
}

/** Whether a request failed for want of time (not for want of a subscriber): nats.js wraps its TimeoutError. */
function timedOut(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = e.cause) if (e.name === "TimeoutError") return true;
  return false;
}

export async function noResponderError(nc: NatsConnection, subject: string): Promise<DaaluError> {
  const cause = new Error(`nothing answers ${subject}`);
  const prefix = prefixOf(subject);
  try {
    if (prefix === undefined) throw cause;
    await nc.request(aliveSubject(prefix), new Uint8Array(0), { timeout: 500 });
  } catch (err) {
    // No answer in time is not "none running": with no subscriber the server says so at once (no responders), so a
    // tunnel-proxy is subscribed and merely slow (a loaded machine). Seen in the drain e2e: a GET retrying through a
    // move was refused TUNNEL_UNAVAILABLE, and not retried, when one alive request took over 500 ms.
    if (timedOut(err)) return movingError(cause);
    return new DaaluError(Code.Unavailable, "no hub node serves this cluster's tunnel (is the tunnel-proxy running?)", { reason: "TUNNEL_UNAVAILABLE", cause });
  }
  return movingError(cause);
}

function movingError(cause: Error): DaaluError {
  return new DaaluError(Code.Unavailable, `the cluster's tunnel is moving to another hub node; retry in ${CLUSTER_MOVING_RETRY_AFTER_S} s`, { reason: "CLUSTER_MOVING", cause });
}
