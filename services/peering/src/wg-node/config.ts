/**
 * Settings of the hub's WireGuard node. Read from the peering service's
 * EnvReader by config.ts (the only reader of process.env): call
 * `readHubNodeConfig(r)` there.
 */
import type { EnvReader } from "@daalu/runtime";
import { DEFAULT_ALERT_AFTER_MS, DEFAULT_DISCONNECT_AFTER_MS } from "../domain/health.js";
import { DEFAULT_GOODBYE_PORT } from "./goodbye.js";

export const DEFAULT_WG_INTERFACE = "dlh0";
export const DEFAULT_WG_PORT = 51820;
export const DEFAULT_WG_RESYNC_MS = 30_000;
export const DEFAULT_HEALTH_INTERVAL_MS = 2_000;
export const DEFAULT_PROBE_INTERVAL_MS = 10_000;
export const DEFAULT_PROBE_TIMEOUT_MS = 2_000;
export const DEFAULT_EDGE_GRPC_PORT = 7443;
export const DEFAULT_MAX_CONCURRENT_PROBES = 64;
/** Clusters a node hands to a less loaded node per second (PEERING_REBALANCE_PER_SECOND; 0 = off). */
export const DEFAULT_REBALANCE_PER_SECOND = 2;

export interface HubNodeConfig {
  /** Interface name, unique on the machine (≤ 15 chars). */
  interface: string;
  listenPort: number;
  backend: "auto" | "kernel" | "wireguard-go";
  /** Full reconcile against PostgreSQL, so a missed event heals. */
  resyncMs: number;
  /** Status sweep period. */
  healthIntervalMs: number;
  /** Per edge, at most one EdgeService.GetStatus this often. */
  probeIntervalMs: number;
  probeTimeoutMs: number;
  maxConcurrentProbes: number;
  edgeGrpcPort: number;
  /** TCP port of EdgeLifecycleService (an edge's goodbye) on the hub's addresses; 0 = not served. */
  goodbyePort: number;
  disconnectAfterMs: number;
  alertAfterMs: number;
  /** Name reported in diagnostics (default: the node id). */
  nodeName: string;
  /** This node's id among several hub nodes (PEERING_NODE_ID, default: the host name). */
  nodeId: string;
  /** This node's WireGuard endpoint as edges dial it (PEERING_NODE_ENDPOINT, host:port; "" = not advertised). */
  nodeEndpoint: string;
  /** A node whose heartbeat is older than this is dead (PEERING_NODE_STALE_AFTER, default 3 sweeps). */
  nodeStaleAfterMs: number;
  /** Rebalancing: at most this many clusters handed to a less loaded node per second (PEERING_REBALANCE_PER_SECOND; 0 = off). */
  rebalancePerSecond: number;
}

/** The hub node settings, or undefined when PEERING_WG is off (the default). */
export function readHubNodeConfig(r: EnvReader, hostName: string): HubNodeConfig | undefined {
  if (!r.bool("PEERING_WG", false)) return undefined;
  const backend = r.str("PEERING_WG_BACKEND", "auto");
  r.check(backend === "auto" || backend === "kernel" || backend === "wireguard-go", `PEERING_WG_BACKEND must be auto, kernel or wireguard-go, got "${backend}"`);
  const iface = r.str("PEERING_WG_INTERFACE", DEFAULT_WG_INTERFACE);
  r.check(/^[A-Za-z0-9_.-]{1,15}$/.test(iface), `PEERING_WG_INTERFACE must be 1-15 of [A-Za-z0-9_.-], got "${iface}"`);
  const nodeId = r.str("PEERING_NODE_ID", hostName);
  r.check(/^[A-Za-z0-9_.-]{1,63}$/.test(nodeId), `PEERING_NODE_ID must be 1-63 of [A-Za-z0-9_.-], got "${nodeId}"`);
  const healthIntervalMs = r.duration("PEERING_HEALTH_INTERVAL", DEFAULT_HEALTH_INTERVAL_MS);
  const cfg: HubNodeConfig = {
    interface: iface,
    listenPort: r.int("PEERING_WG_PORT", DEFAULT_WG_PORT, 1, 65535),
    backend: backend as HubNodeConfig["backend"],
    resyncMs: r.duration("PEERING_WG_RESYNC", DEFAULT_WG_RESYNC_MS),
    healthIntervalMs,
    probeIntervalMs: r.duration("PEERING_PROBE_INTERVAL", DEFAULT_PROBE_INTERVAL_MS),
    probeTimeoutMs: r.duration("PEERING_PROBE_TIMEOUT", DEFAULT_PROBE_TIMEOUT_MS),
    maxConcurrentProbes: r.int("PEERING_MAX_CONCURRENT_PROBES", DEFAULT_MAX_CONCURRENT_PROBES, 1, 10_000),
    edgeGrpcPort: r.int("PEERING_EDGE_GRPC_PORT", DEFAULT_EDGE_GRPC_PORT, 1, 65535),
    goodbyePort: r.int("PEERING_WG_GOODBYE_PORT", DEFAULT_GOODBYE_PORT, 0, 65535),
    disconnectAfterMs: r.duration("PEERING_DISCONNECT_AFTER", DEFAULT_DISCONNECT_AFTER_MS),
    alertAfterMs: r.duration("PEERING_ALERT_AFTER", DEFAULT_ALERT_AFTER_MS),
    nodeName: r.str("PEERING_NODE_NAME", nodeId),
    nodeId,
    nodeEndpoint: r.str("PEERING_NODE_ENDPOINT", ""),
    nodeStaleAfterMs: r.duration("PEERING_NODE_STALE_AFTER", 3 * healthIntervalMs),
    rebalancePerSecond: r.int("PEERING_REBALANCE_PER_SECOND", DEFAULT_REBALANCE_PER_SECOND, 0, 1000),
  };
  r.check(cfg.resyncMs > 0 && cfg.healthIntervalMs > 0 && cfg.probeIntervalMs > 0 && cfg.probeTimeoutMs > 0, "PEERING_WG_RESYNC, PEERING_HEALTH_INTERVAL, PEERING_PROBE_INTERVAL and PEERING_PROBE_TIMEOUT must be positive");
  r.check(cfg.alertAfterMs >= cfg.disconnectAfterMs, "PEERING_ALERT_AFTER must not be shorter than PEERING_DISCONNECT_AFTER");
  return cfg;
}
