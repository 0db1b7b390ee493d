/**
 * Reads through a cluster's tunnel as the reconciler (caller `agent:reconciler`):
 * the tunnel-proxy's `proxyCall`, so every read is one audit row like any
 * other call, and the edge's proxy account with its RBAC answers it. GET only.
 */
import { CallerKind } from "@daalu/proto";
import type { CallerRef, NatsConnection } from "@daalu/runtime";
import { proxyCall } from "@daalu/tunnel-proxy";

export const RECONCILER: CallerRef = { kind: CallerKind.AGENT, id: "reconciler" };

export interface ReadAnswer {
  status: number;
  body: string;
}

/** One GET of an API path through the tunnel; rejects (DaaluError) when the call never reached the cluster. */
export type TunnelRead = (tenantId: string, clusterId: string, path: string) => Promise<ReadAnswer>;

export function tunnelReader(nc: NatsConnection, opts: { prefix: string; timeoutMs: number }): TunnelRead {
  return async (tenantId, clusterId, path) => {
    const answer = await proxyCall(nc, { method: "GET", path, headers: [{ name: "Accept", value: "application/json" }] }, { prefix: opts.prefix, tenantId, clusterId, caller: RECONCILER, timeoutMs: opts.timeoutMs });
    const chunks: Uint8Array[] = [];
    for await (const c of answer.body) chunks.push(c);
    return { status: answer.status, body: Buffer.concat(chunks).toString("utf8") };
  };
}
