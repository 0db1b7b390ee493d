/**
 * The cluster detail page's reads, any role:
 *
 *   GET /v1/clusters/:id/history?limit=50   status transitions, newest first (peering keeps the last 500)
 *   GET /v1/clusters/:id/alerts?limit=50    critical alerts, open and resolved, newest first
 *   GET /v1/clusters/:id/edge               the edge agent's own health, asked through the tunnel
 *                                           (503 TUNNEL_NOT_CONNECTED / CLUSTER_NOT_CONNECTED when it is down)
 *
 * Another tenant's cluster is 404 (peering and the tunnel-proxy scope by the
 * caller's tenant). Register with `app.register(clusterDetailPlugin, { peering, queries, logger })`.
 */
import type { FastifyInstance } from "fastify";
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { PeeringClient } from "@daalu/peering";
import type { Logger } from "@daalu/runtime";
import type { QueryClient } from "@daalu/tunnel-proxy";
import { alertJson, clusterStatusName } from "./json.js";
import { inSpan, principalOf } from "./route-kit.js";
import { idParam } from "./schemas.js";

export interface ClusterDetailOptions {
  peering: PeeringClient;
  queries: QueryClient;
  logger: Logger;
  /** How long the edge may take to answer GetStatus through the tunnel. */
  edgeTimeoutMs?: number;
}

export const DEFAULT_EDGE_STATUS_TIMEOUT_MS = 10_000;

export const historyQuery = {
  type: "object",
  additionalProperties: false,
  properties: { limit: { type: "string", pattern: "^([1-9][0-9]{0,1}|[1-4][0-9]{2}|500)$", description: "1-500, default 50" } },
} as const;
export const edgeQuery = { type: "object", additionalProperties: false, properties: {} } as const;

const iso = (t: Timestamp | undefined) => (t ? timestampDate(t).toISOString() : null);

export async function clusterDetailPlugin(app: FastifyInstance, opts: ClusterDetailOptions): Promise<void> {
  type Req = { Params: { id: string }; Querystring: { limit?: string } };
  const edgeTimeoutMs = opts.edgeTimeoutMs ?? DEFAULT_EDGE_STATUS_TIMEOUT_MS;

  app.get<Req>("/v1/clusters/:id/history", { schema: { params: idParam, querystring: historyQuery } }, (req) =>
    inSpan(req, async () => {
      const p = principalOf(req);
      const r = await opts.peering.listClusterTransitions({ clusterId: req.params.id, limit: Number(req.query.limit ?? 0) }, { tenantId: p.tenantId, caller: p.caller });
      return { transitions: r.transitions.map((t) => ({ at: iso(t.at), from: clusterStatusName(t.from), to: clusterStatusName(t.to), diagnostic: t.diagnostic || null })) };
    }),
  );

  app.get<Req>("/v1/clusters/:id/alerts", { schema: { params: idParam, querystring: historyQuery } }, (req) =>
    inSpan(req, async () => {
      const p = principalOf(req);
      const r = await opts.peering.listClusterAlerts({ clusterId: req.params.id, limit: Number(req.query.limit ?? 0) }, { tenantId: p.tenantId, caller: p.caller });
      return { alerts: r.alerts.map(alertJson) };
    }),
  );

  app.get<{ Params: { id: string } }>("/v1/clusters/:id/edge", { schema: { params: idParam, querystring: edgeQuery } }, (req) =>
    inSpan(req, async () => {
      const p = principalOf(req);
      const r = await opts.queries.getEdgeStatus({ clusterId: req.params.id }, { tenantId: p.tenantId, caller: p.caller, timeoutMs: edgeTimeoutMs });
      const s = r.status;
      const started = s?.startedAt ? timestampDate(s.startedAt).getTime() : undefined;
      const probed = s?.probedAt ? timestampDate(s.probedAt).getTime() : Date.now();
      return {
        version: s?.edgeVersion || null,
        uptimeSeconds: started === undefined ? null : Math.max(0, Math.floor((probed - started) / 1000)),
        handshakeAgeSeconds: s?.handshakeAgeSeconds ?? null,
        lastProbeAt: new Date(probed).toISOString(),
        apiServer: s?.apiServer || null,
        apiReachable: s?.apiReachable ?? false,
        apiError: s?.apiError || null,
        kubernetesVersion: s?.kubernetesVersion || null,
        nodeCount: s?.nodeCount ?? 0,
        nodesReady: s?.nodesReady ?? 0,
      };
    }),
  );
}
