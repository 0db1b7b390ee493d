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

export interface TunnelProxyConfig extends CommonConfig {
  edgePort: number;
  /** cluster id -> host:port, replacing the tunnel address (tests and benchmarks without WireGuard). */
  edgeAddrOverride: Record<string, string>;
  unaryTimeoutMs: number;
  unaryBufferBytes: number;
  clusterCacheMs: number;
  auditDeadlineMs: number;
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
  };
  r.check(cfg.unaryTimeoutMs > 0, "TUNNEL_PROXY_UNARY_TIMEOUT must be positive");
  r.check(cfg.auditDeadlineMs > 0, "TUNNEL_PROXY_AUDIT_DEADLINE must be positive");
  r.done();
  return cfg;
}
