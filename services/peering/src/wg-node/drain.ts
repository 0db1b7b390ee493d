/**
 * A hub node's SIGTERM with several nodes (docs/architecture.md "Several hub
 * nodes"): have this node's tunnel-proxy let go of its clusters and finish the
 * calls it took (a call still in flight when the peers go would hang until its
 * deadline), then mark this node draining, stop answering its edges (every peer
 * leaves the device and nothing re-adds them), so each edge's hub-silence
 * detection moves it to the next endpoint and that node claims it; wait until
 * no cluster is homed here, at most `timeoutMs`; leave hub_nodes. A node alone
 * skips all of it: its edges have nowhere to go, and waiting would only delay
 * the restart they are waiting for.
 */
import type { Logger } from "@daalu/runtime";
import type { Homes } from "./homes.js";

export interface DrainDeps {
  homes: Homes;
  log: Logger;
  timeoutMs: number;
  /** Asks the node's tunnel-proxy to stop serving its clusters and finish its calls; resolves when it did or gave up (never throws). */
  releaseTunnels?: () => Promise<void>;
  /** Marks the node draining and empties its device (under the node's lock). */
  emptyDevice: () => Promise<void>;
  /** How often the homes are read while waiting. */
  pollMs?: number;
}

/** Returns how many clusters were still homed here when it gave up (0: all moved, or nothing to drain). */
export async function drainNode(d: DrainDeps): Promise<number> {
  await d.homes.heartbeat().catch(() => undefined);
  if (!d.homes.othersLive()) return 0;
  const started = Date.now();
  await d.releaseTunnels?.();
  await d.emptyDevice();
  d.log.info({ clusters: d.homes.homedHere().length, timeoutMs: d.timeoutMs }, "draining: edges are moving to other hub nodes");
  for (;;) {
    await d.homes.refresh().catch((err) => d.log.warn({ err }, "drain: homes not read"));
    if (d.homes.homedHere().length === 0 || Date.now() - started >= d.timeoutMs) break;
    await new Promise((r) => setTimeout(r, d.pollMs ?? 250));
  }
  const left = d.homes.homedHere().length;
  d.log.info({ left, tookMs: Date.now() - started }, left === 0 ? "drained: every cluster moved to another node" : "drain timed out; the rest move when their edges do");
  await d.homes.forget().catch((err) => d.log.warn({ err }, "drain: heartbeat row not removed"));
  return left;
}
