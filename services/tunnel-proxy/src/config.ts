/** The only reader of process.env for the tunnel-proxy. */
import { EnvReader, parseHostPort, readCommon, type CommonConfig } from "@daalu/runtime";

export const SERVICE_NAME = "tunnel-proxy";
/** The edge's gRPC port on its tunnel address (the edge's DEFAULT_GRPC_PORT). */
export const DEFAULT_EDGE_PORT = 7443;
/** Deadline of a unary call through the tunnel (streams have none; heartbeats end them). */
export const DEFAULT_UNARY_TIMEOUT_MS = 30_000;
/** A unary answer up to this size is held until its audit record is stored; larger ones stream (see handler.ts). */
export const DEFAULT_UNARY_BUFFER_BYTES = 8 * 1024 * 1024;
/** How long a cluster's tunnel address stays cached. */
export const DEFAULT_CLUSTER_CACHE_MS = 5_000;
/** How long one call waits for its audit record's PubAck before it is refused. */
export const DEFAULT_AUDIT_DEADLINE_MS = 5_000;

/** Sessions (exec, attach, port-forward): concurrent limits (0 = none), idle timeout, maximum duration. */
export const DEFAULT_SESSIONS_PER_TENANT = 50;
export const DEFAULT_SESSIONS_PER_CLUSTER = 20;
export const DEFAULT_SESSION_IDLE_TIMEOUT_MS = 30 * 60_000;
export const DEFAULT_SESSION_MAX_DURATION_MS = 8 * 3600_000;

export interface SessionConfig {
  perTenant: number;
  perCluster: number;
  /** No byte in either direction for this long ends a session. */
  idleTimeoutMs: number;
  maxDurationMs: number;
}

export interface TunnelProxyConfig extends CommonConfig {
  sessions: SessionConfig;
  edgePort: number;
  /** cluster id -> host:port, replacing the tunnel address (tests and benchmarks without WireGuard). */
  edgeAddrOverride: Record<string, string>;
  unaryTimeoutMs: number;
  unaryBufferBytes: number;
  clusterCacheMs: number;
  auditDeadlineMs: number;
  /**
   * TUNNEL_PROXY_NODE_ID: the hub node (peering's PEERING_NODE_ID) this tunnel-proxy runs beside. Set: it subscribes
   * only the tunnel subjects of the clusters homed on that node (adapters/nats/home-routing.ts); unset: every cluster's.
   */
  nodeId: string | undefined;
}

/** Parses "cluster=host:port,cluster2=host:port". */
export function parseOverride(v: string | undefined, problems: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (!v) return out;
  for (const part of v.split(",").map((s) => s.trim()).filter(Boolean)) {
    const m = /^([A-Za-z0-9_-]+)=(.+)$/.exec(part);
    if (!m || !parseHostPort(m[2]!)) problems.push(`TUNNEL_PROXY_EDGE_ADDR_OVERRIDE entries must be cluster=host:port, got "${part}"`);
    else out[m[1]!] = m[2]!;
  }
  return out;
}

export function loadConfig(env: Record<string, string | undefined>): TunnelProxyConfig {
  const r = new EnvReader(env);
  const common = readCommon(r, env, SERVICE_NAME);
  const cfg: TunnelProxyConfig = {
    ...common,
    edgePort: r.int("TUNNEL_PROXY_EDGE_PORT", DEFAULT_EDGE_PORT, 1, 65_535),
    edgeAddrOverride: parseOverride(r.optional("TUNNEL_PROXY_EDGE_ADDR_OVERRIDE"), r.problems),
    unaryTimeoutMs: r.duration("TUNNEL_PROXY_UNARY_TIMEOUT", DEFAULT_UNARY_TIMEOUT_MS),
    unaryBufferBytes: r.int("TUNNEL_PROXY_UNARY_BUFFER", DEFAULT_UNARY_BUFFER_BYTES, 0, 256 * 1024 * 1024),
    clusterCacheMs: r.duration("TUNNEL_PROXY_CLUSTER_CACHE", DEFAULT_CLUSTER_CACHE_MS),
    auditDeadlineMs: r.duration("TUNNEL_PROXY_AUDIT_DEADLINE", DEFAULT_AUDIT_DEADLINE_MS),
    nodeId: r.optional("TUNNEL_PROXY_NODE_ID") || undefined,
    sessions: {
      perTenant: r.int("TUNNEL_PROXY_SESSIONS_PER_TENANT", DEFAULT_SESSIONS_PER_TENANT, 0, 100_000),
      perCluster: r.int("TUNNEL_PROXY_SESSIONS_PER_CLUSTER", DEFAULT_SESSIONS_PER_CLUSTER, 0, 100_000),
      idleTimeoutMs: r.duration("TUNNEL_PROXY_SESSION_IDLE_TIMEOUT", DEFAULT_SESSION_IDLE_TIMEOUT_MS),
      maxDurationMs: r.duration("TUNNEL_PROXY_SESSION_MAX_DURATION", DEFAULT_SESSION_MAX_DURATION_MS),
    },
  };
  r.check(cfg.sessions.idleTimeoutMs > 0 && cfg.sessions.maxDurationMs > 0, "TUNNEL_PROXY_SESSION_IDLE_TIMEOUT and TUNNEL_PROXY_SESSION_MAX_DURATION must be positive");
  r.check(cfg.unaryTimeoutMs > 0, "TUNNEL_PROXY_UNARY_TIMEOUT must be positive");
  r.check(cfg.auditDeadlineMs > 0, "TUNNEL_PROXY_AUDIT_DEADLINE must be positive");
  r.done();
  return cfg;
}
