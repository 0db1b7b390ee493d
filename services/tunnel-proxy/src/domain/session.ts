/**
 * Sessions (exec, attach, port-forward) in audit terms, and the concurrent
 * session limits. Pure: no I/O.
 */
import { create } from "@bufbuild/protobuf";
import { auditv1 } from "@daalu/proto";

/** Tenant and cluster of a tunnel subject (`…daalu.tunnel.v1.<tenant>.<cluster>.<Method>`). */
export function tunnelScope(subject: string): { tenantId: string; clusterId: string } {
  const tokens = subject.split(".");
  return { tenantId: tokens[tokens.length - 3]!, clusterId: tokens[tokens.length - 2]! };
}

/** The audit facts a session's request path says: argv of exec (command=), container, ports (port-forward). Never stdin. */
export function sessionFacts(rawPath: string): { command: string[]; container: string; ports: string[] } {
  const q = rawPath.indexOf("?");
  const query = new URLSearchParams(q < 0 ? "" : rawPath.slice(q + 1));
  return { command: query.getAll("command"), container: query.get("container") ?? "", ports: query.getAll("ports") };
}

/** The Session message of a start record; `hubInstance`: this tunnel-proxy process, whose heartbeats vouch for the open row. */
export function sessionStart(sessionId: string, rawPath: string, hubInstance: string): auditv1.Session {
  return create(auditv1.SessionSchema, { sessionId, phase: auditv1.SessionPhase.START, hubInstance, ...sessionFacts(rawPath) });
}

/** The channel's reason when both ends half-closed (stream-duplex-channel.ts's CHANNEL_COMPLETE). */
const COMPLETE = "complete";

/**
 * Whether a session ended as sessions do (both ends done, the client or the API server closed) rather than being
 * cut by the hub (a limit, a drain, the edge or a tunnel-proxy gone): the end record's ok, and whether the gateway
 * tells the client why (its own Status / close frame) after the bytes it got.
 */
export function isNormalSessionEnd(reason: string): boolean {
  return reason === COMPLETE || reason.startsWith("the client closed") || reason.startsWith("the API server closed") || reason.startsWith("the API server answered");
}

/** The close reason when the edge's call fails after the head: the edge process, its node or the tunnel is gone. */
export function edgeGoneReason(details: string): string {
  return `the edge is gone: its call failed (${details || "no details"})`;
}

/** Why a session was refused by a limit. */
export type LimitRefusal = { scope: "tenant" | "cluster"; limit: number };

/**
 * Concurrent sessions per tenant and per cluster. acquire() either counts the
 * session and returns its release (idempotent), or says which limit is full.
 * A limit of 0 means none.
 */
export class SessionLimits {
  private readonly tenants = new Map<string, number>();
  private readonly clusters = new Map<string, number>();

  constructor(
    private readonly perTenant: number,
    private readonly perCluster: number,
  ) {}

  acquire(tenantId: string, clusterId: string): { release(): void } | LimitRefusal {
    const ck = `${tenantId}/${clusterId}`;
    const t = this.tenants.get(tenantId) ?? 0;
    const c = this.clusters.get(ck) ?? 0;
    if (this.perCluster > 0 && c >= this.perCluster) return { scope: "cluster", limit: this.perCluster };
    if (this.perTenant > 0 && t >= this.perTenant) return { scope: "tenant", limit: this.perTenant };
    this.tenants.set(tenantId, t + 1);
    this.clusters.set(ck, c + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        dec(this.tenants, tenantId);
        dec(this.clusters, ck);
      },
    };
  }

  /** Open sessions of a tenant (tests, metrics). */
  openFor(tenantId: string): number {
    return this.tenants.get(tenantId) ?? 0;
  }
}

function dec(m: Map<string, number>, k: string): void {
  const n = (m.get(k) ?? 0) - 1;
  if (n <= 0) m.delete(k);
  else m.set(k, n);
}
