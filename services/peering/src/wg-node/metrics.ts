/**
 * The hub node's Prometheus metrics. Tunnel states and handshake ages are
 * read from the tracked clusters when Prometheus scrapes (nothing is recorded
 * on the sweep path); probes are counted as they finish.
 */
import { counter, gauge, histogram } from "@daalu/runtime";
import { CLUSTER_STATUSES } from "../domain/cluster.js";
import type { Tracked } from "./tracked.js";

/** The tracked clusters of every hub node in this process (one in production; tests may run several). */
const nodes = new Map<string, () => Iterable<Tracked>>();

/** Reports a hub node's clusters until the returned function is called (its stop). */
export function trackHubNode(iface: string, tracked: () => Iterable<Tracked>): () => void {
  nodes.set(iface, tracked);
  return () => void nodes.delete(iface);
}

function* all(): Iterable<[string, Tracked]> {
  for (const [iface, list] of nodes) for (const t of list()) yield [iface, t];
}

gauge({
  name: "daalu_tunnels",
  help: "Enrolled clusters on this hub node by tunnel state",
  labelNames: ["node", "state"],
  collect() {
    this.reset();
    for (const iface of nodes.keys()) for (const s of CLUSTER_STATUSES) this.labels(iface, s).set(0);
    for (const [iface, t] of all()) this.labels(iface, t.state).inc();
  },
});

gauge({
  name: "daalu_tunnel_handshake_age_seconds",
  help: "Seconds since the cluster's newest WireGuard handshake (clusters that never handshook have no series)",
  labelNames: ["tenant", "cluster"],
  collect() {
    this.reset();
    const now = Date.now();
    for (const [, t] of all()) if (t.lastHandshakeMs > 0) this.labels(t.tenantId, t.clusterId).set((now - t.lastHandshakeMs) / 1000);
  },
});

gauge({
  name: "daalu_tunnel_down_seconds",
  help: "Seconds the cluster's tunnel has been disconnected or in error (0 while connected or awaiting its first handshake)",
  labelNames: ["tenant", "cluster"],
  collect() {
    this.reset();
    const now = Date.now();
    for (const [, t] of all()) this.labels(t.tenantId, t.clusterId).set(t.state === "disconnected" || t.state === "error" ? (now - t.since) / 1000 : 0);
  },
});

const probes = counter({ name: "daalu_tunnel_probes_total", help: "GetStatus probes of edges through their tunnels, by result", labelNames: ["result"] });
const probeOk = probes.labels("ok");
const probeFailed = probes.labels("failed");
const probeSeconds = histogram({ name: "daalu_tunnel_probe_duration_seconds", help: "Time a GetStatus probe of an edge took through its tunnel" });

/** Counts one finished probe. */
export function recordProbe(ok: boolean, latencyMs: number): void {
  (ok ? probeOk : probeFailed).inc();
  probeSeconds.observe(latencyMs / 1000);
}
