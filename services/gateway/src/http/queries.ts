/**
 * REST face of the typed cluster queries (daalu.query.v1, served by the
 * tunnel-proxy over NATS):
 *
 *   GET /v1/clusters/:id/queries/unhealthy-pods?namespace=&includeCompleted=
 *   GET /v1/clusters/:id/queries/deployment-logs?namespace=&name=&tailLines=&container=
 *   GET /v1/clusters/:id/queries/rollout-status?namespace=&name=
 *   GET /v1/clusters/:id/queries/nodes
 *   GET /v1/clusters/:id/queries/rollouts?namespace=&limit=
 *
 * The caller's own identity (user, assistant or agent token) goes with the
 * NATS call, so the audit rows of the query's Kubernetes GETs name it. Any
 * role may ask: every query only reads. Register with
 * `app.register(queryRoutesPlugin, { queries, logger })`; the app's access hook
 * (route-kit.ts) has authenticated the caller.
 */
import type { FastifyInstance } from "fastify";
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { queryv1 } from "@daalu/proto";
import type { Logger } from "@daalu/runtime";
import type { QueryClient } from "@daalu/tunnel-proxy";
import { BadRequestError } from "../errors.js";
import { inSpan, principalOf } from "./route-kit.js";
import { idParam } from "./schemas.js";

/** A query's GETs go through the tunnel one after the other; allow them this long in total. */
export const DEFAULT_QUERY_TIMEOUT_MS = 30_000;

export interface QueryRoutesOptions {
  queries: QueryClient;
  timeoutMs?: number;
  logger: Logger;
}

const name = { type: "string", minLength: 1, maxLength: 253 } as const;
const label = { type: "string", minLength: 1, maxLength: 63 } as const;
export const unhealthyPodsQuery = { type: "object", additionalProperties: false, properties: { namespace: label, includeCompleted: { type: "string", enum: ["true", "false"] } } } as const;
export const deploymentLogsQuery = { type: "object", additionalProperties: false, required: ["namespace", "name"], properties: { namespace: label, name, tailLines: { type: "string", pattern: "^[0-9]{1,4}$", description: "1-5000, default 100" }, container: label } } as const;
export const rolloutStatusQuery = { type: "object", additionalProperties: false, required: ["namespace", "name"], properties: { namespace: label, name } } as const;
export const nodesQuery = { type: "object", additionalProperties: false, properties: {} } as const;
export const rolloutsQuery = { type: "object", additionalProperties: false, properties: { namespace: label, limit: { type: "string", pattern: "^[0-9]{1,3}$", description: "1-500, default 50" } } } as const;

const iso = (t: Timestamp | undefined) => (t ? timestampDate(t).toISOString() : null);
const ROLLOUT: Record<number, string> = { [queryv1.RolloutState.DONE]: "done", [queryv1.RolloutState.PROGRESSING]: "progressing", [queryv1.RolloutState.FAILED]: "failed" };

export async function queryRoutesPlugin(app: FastifyInstance, opts: QueryRoutesOptions): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
  type Params = { Params: { id: string } };

  app.get<Params & { Querystring: { namespace?: string; includeCompleted?: string } }>("/v1/clusters/:id/queries/unhealthy-pods", { schema: { params: idParam, querystring: unhealthyPodsQuery } }, (req) =>
    inSpan(req, async () => {
      const p = principalOf(req);
      const r = await opts.queries.listUnhealthyPods({ clusterId: req.params.id, namespace: req.query.namespace ?? "", includeCompleted: req.query.includeCompleted === "true" }, { tenantId: p.tenantId, caller: p.caller, timeoutMs });
      return { pods: r.pods.map((x) => ({ namespace: x.namespace, name: x.name, phase: x.phase, status: x.status, ready: x.ready, restarts: x.restarts, message: x.message || null, nodeName: x.nodeName || null, createdAt: iso(x.createdAt) })), podsTotal: r.podsTotal };
    }),
  );

  app.get<Params & { Querystring: { namespace: string; name: string; tailLines?: string; container?: string } }>("/v1/clusters/:id/queries/deployment-logs", { schema: { params: idParam, querystring: deploymentLogsQuery } }, (req) =>
    inSpan(req, async () => {
      const p = principalOf(req);
      const tail = req.query.tailLines === undefined ? 0 : Number(req.query.tailLines);
      if (req.query.tailLines !== undefined && (tail < 1 || tail > 5_000)) throw new BadRequestError("tailLines must be between 1 and 5000", "INVALID_QUERY");
      const r = await opts.queries.getDeploymentLogs({ clusterId: req.params.id, namespace: req.query.namespace, name: req.query.name, tailLines: tail, container: req.query.container ?? "" }, { tenantId: p.tenantId, caller: p.caller, timeoutMs });
      return { selector: r.selector, truncated: r.truncated, pods: r.pods.map((x) => ({ pod: x.pod, container: x.container, lines: x.lines, error: x.error || null })) };
    }),
  );

  app.get<Params & { Querystring: { namespace: string; name: string } }>("/v1/clusters/:id/queries/rollout-status", { schema: { params: idParam, querystring: rolloutStatusQuery } }, (req) =>
    inSpan(req, async () => {
      const p = principalOf(req);
      const r = await opts.queries.getRolloutStatus({ clusterId: req.params.id, namespace: req.query.namespace, name: req.query.name }, { tenantId: p.tenantId, caller: p.caller, timeoutMs });
      return { desired: r.desired, updated: r.updated, ready: r.ready, available: r.available, current: r.current, state: ROLLOUT[r.state] ?? "unspecified", done: r.state === queryv1.RolloutState.DONE, message: r.message, generation: Number(r.generation), observedGeneration: Number(r.observedGeneration) };
    }),
  );

  app.get<Params & { Querystring: { namespace?: string; limit?: string } }>("/v1/clusters/:id/queries/rollouts", { schema: { params: idParam, querystring: rolloutsQuery } }, (req) =>
    inSpan(req, async () => {
      const p = principalOf(req);
      const limit = req.query.limit === undefined ? 0 : Number(req.query.limit);
      if (req.query.limit !== undefined && (limit < 1 || limit > 500)) throw new BadRequestError("limit must be between 1 and 500", "INVALID_QUERY");
      const r = await opts.queries.listRollouts({ clusterId: req.params.id, namespace: req.query.namespace ?? "", limit }, { tenantId: p.tenantId, caller: p.caller, timeoutMs });
      return {
        total: r.total,
        rollouts: r.rollouts.map((x) => ({
          kind: x.kind,
          namespace: x.namespace,
          name: x.name,
          desired: x.desired,
          updated: x.updated,
          ready: x.ready,
          available: x.available,
          generation: Number(x.generation),
          observedGeneration: Number(x.observedGeneration),
          state: ROLLOUT[x.state] ?? "unspecified",
          message: x.message,
          conditionMessage: x.conditionMessage || null,
          changedAt: iso(x.changedAt),
        })),
      };
    }),
  );

  app.get<Params>("/v1/clusters/:id/queries/nodes", { schema: { params: idParam, querystring: nodesQuery } }, (req) =>
    inSpan(req, async () => {
      const p = principalOf(req);
      const r = await opts.queries.listNodes({ clusterId: req.params.id }, { tenantId: p.tenantId, caller: p.caller, timeoutMs });
      return { nodes: r.nodes.map((n) => ({ name: n.name, ready: n.ready, status: n.status, roles: n.roles, version: n.version, internalIp: n.internalIp || null, createdAt: iso(n.createdAt) })) };
    }),
  );
}
