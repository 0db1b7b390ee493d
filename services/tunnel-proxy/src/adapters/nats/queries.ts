/**
 * The QueryService handlers (daalu.query.v1): each query is a few Kubernetes
 * API GETs sent through proxyCall, i.e. over the cluster's tunnel subject
 * like any kubectl call, so each GET is answered by whichever hub node holds
 * the tunnel and leaves its own audit row carrying the query's caller (user,
 * assistant or agent). Nothing here talks to the edge directly.
 */
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { NatsConnection } from "@nats-io/transport-node";
import { edgev1, queryv1 } from "@daalu/proto";
import { Code, DaaluError, type CallContext, type MethodsOf, type ServiceImpl } from "@daalu/runtime";
import { proxyCall } from "../../client.js";
import {
  defaultContainer,
  isDnsLabel,
  isDnsSubdomain,
  isUnhealthy,
  logLines,
  nodeView,
  podView,
  rolloutView,
  selectorString,
  sortRollouts,
  workloadRollout,
  type DeploymentObject,
  type WorkloadKind,
  type WorkloadObject,
  type NodeObject,
  type PodObject,
} from "../../domain/queries.js";

export const DEFAULT_TAIL_LINES = 100;
export const MAX_TAIL_LINES = 5_000;
/** Pods whose logs one GetDeploymentLogs reads. */
export const MAX_LOG_PODS = 20;
/** How long one GET through the tunnel may wait for its answer when the caller set no deadline. */
export const DEFAULT_QUERY_GET_TIMEOUT_MS = 15_000;
/** Largest answer one GET may bring back (a list of every pod of a large cluster fits). */
export const MAX_QUERY_BODY_BYTES = 32 * 1024 * 1024;
const USER_AGENT = "daalu-query/v1";

/** A query's request is malformed. */
export class InvalidQueryError extends DaaluError {
  override name = "InvalidQueryError";
  constructor(message: string) {
    super(Code.InvalidArgument, message, { reason: "INVALID_QUERY" });
  }
}

/** The API server answered a query's GET with an error; its Status message is kept verbatim. */
export class KubernetesApiError extends DaaluError {
  override name = "KubernetesApiError";
  constructor(status: number, message: string) {
    const code = status === 404 ? Code.NotFound : status === 403 ? Code.PermissionDenied : status === 401 ? Code.Unauthenticated : status >= 500 ? Code.Unavailable : Code.FailedPrecondition;
    super(code, message, { reason: status === 404 ? "KUBERNETES_NOT_FOUND" : status === 403 ? "KUBERNETES_FORBIDDEN" : "KUBERNETES_ERROR", httpStatus: status >= 400 && status < 600 ? status : 502 });
  }
}

type QueryImpl = ServiceImpl<MethodsOf<typeof queryv1.QueryService>>;

export interface QueryDeps {
  nc: NatsConnection;
  prefix: string;
  getTimeoutMs?: number;
  /**
   * EdgeService.GetStatus of a tenant's cluster through its tunnel (refused
   * like any call when the tunnel is known to be down); GetEdgeStatus answers
   * UNIMPLEMENTED without it.
   */
  edgeStatus?: (tenantId: string, clusterId: string, deadline: number) => Promise<edgev1.GetStatusResponse>;
}

/** Rollouts one ListRollouts returns unless asked: 50, at most 500. */
export const DEFAULT_ROLLOUTS = 50;
export const MAX_ROLLOUTS = 500;
const WORKLOADS: { kind: WorkloadKind; plural: string }[] = [
  { kind: "Deployment", plural: "deployments" },
  { kind: "StatefulSet", plural: "statefulsets" },
  { kind: "DaemonSet", plural: "daemonsets" },
];
const ROLLOUT_STATE = { done: queryv1.RolloutState.DONE, progressing: queryv1.RolloutState.PROGRESSING, failed: queryv1.RolloutState.FAILED } as const;

function need(field: string, v: string, ok: (s: string) => boolean): string {
  if (!v) throw new InvalidQueryError(`${field} is required`);
  if (!ok(v)) throw new InvalidQueryError(`${field} "${v.slice(0, 80)}" is not a valid Kubernetes name`);
  return v;
}
const clusterOk = (s: string) => /^[A-Za-z0-9_-]{1,64}$/.test(s);

/** Builds the QueryService implementation for serveNats. */
export function queryHandlers(deps: QueryDeps): QueryImpl {
  const getTimeout = deps.getTimeoutMs ?? DEFAULT_QUERY_GET_TIMEOUT_MS;

  /** One GET through the tunnel as the query's caller; the body whole, or the API server's error. */
  async function get(ctx: CallContext, clusterId: string, path: string, accept: string): Promise<{ status: number; text: string }> {
    if (!ctx.tenantId) throw new DaaluError(Code.Unauthenticated, "queries need a tenant", { reason: "TENANT_REQUIRED" });
    const a = await proxyCall(
      deps.nc,
      { method: "GET", path, headers: [{ name: "accept", value: accept }, { name: "user-agent", value: USER_AGENT }] },
      { prefix: deps.prefix, tenantId: ctx.tenantId, clusterId, caller: ctx.caller, timeoutMs: getTimeout, signal: ctx.signal },
    );
    const parts: Buffer[] = [];
    let n = 0;
    for await (const c of a.body) {
      n += c.length;
      if (n > MAX_QUERY_BODY_BYTES) {
        a.cancel("answer too large");
        throw new DaaluError(Code.ResourceExhausted, `the API server's answer to ${path} is larger than ${MAX_QUERY_BODY_BYTES} bytes`, { reason: "ANSWER_TOO_LARGE" });
      }
      parts.push(Buffer.from(c.buffer, c.byteOffset, c.length));
    }
    return { status: a.status, text: Buffer.concat(parts).toString("utf8") };
  }
  async function getJson<T>(ctx: CallContext, clusterId: string, path: string): Promise<T> {
    const r = await get(ctx, clusterId, path, "application/json");
    if (r.status !== 200) throw new KubernetesApiError(r.status, statusMessage(r.text, r.status));
    try {
      return JSON.parse(r.text) as T;
    } catch {
      throw new DaaluError(Code.Internal, `the API server's answer to ${path} is not JSON`, { reason: "KUBERNETES_BAD_ANSWER" });
    }
  }

  return {
    async listUnhealthyPods(req, ctx) {
      const cluster = need("cluster_id", req.clusterId, clusterOk);
      if (req.namespace) need("namespace", req.namespace, isDnsLabel);
      const path = req.namespace ? `/api/v1/namespaces/${req.namespace}/pods` : "/api/v1/pods";
      const list = await getJson<{ items?: PodObject[] }>(ctx, cluster, path);
      const items = list.items ?? [];
      const pods = items
        .map((p) => ({ p, v: podView(p) }))
        .filter(({ p, v }) => isUnhealthy(v, p.status?.phase ?? "", req.includeCompleted))
        .map(({ p, v }) => ({
          namespace: p.metadata?.namespace ?? "",
          name: p.metadata?.name ?? "",
          phase: p.status?.phase ?? "",
          status: v.status,
          ready: v.ready,
          restarts: v.restarts,
          message: v.message,
          nodeName: p.spec?.nodeName ?? "",
          ...(p.metadata?.creationTimestamp ? { createdAt: timestampFromDate(new Date(p.metadata.creationTimestamp)) } : {}),
        }))
        .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
      return { pods, podsTotal: items.length };
    },

    async getDeploymentLogs(req, ctx) {
      const cluster = need("cluster_id", req.clusterId, clusterOk);
      const ns = need("namespace", req.namespace, isDnsLabel);
      const name = need("name", req.name, isDnsSubdomain);
      if (req.tailLines > MAX_TAIL_LINES) throw new InvalidQueryError(`tail_lines must be at most ${MAX_TAIL_LINES}`);
      if (req.container) need("container", req.container, isDnsLabel);
      const tail = req.tailLines || DEFAULT_TAIL_LINES;
      const d = await getJson<DeploymentObject>(ctx, cluster, `/apis/apps/v1/namespaces/${ns}/deployments/${name}`);
      let selector: string;
      try {
        selector = selectorString(d.spec?.selector);
      } catch (err) {
        throw new DaaluError(Code.FailedPrecondition, `deployment ${ns}/${name}: ${(err as Error).message}`, { reason: "UNSUPPORTED_SELECTOR" });
      }
      // An empty selector would match every pod of the namespace: never read those as "the deployment's".
      if (!selector) throw new DaaluError(Code.FailedPrecondition, `deployment ${ns}/${name} has an empty selector`, { reason: "UNSUPPORTED_SELECTOR" });
      const list = await getJson<{ items?: PodObject[] }>(ctx, cluster, `/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(selector)}`);
      const pods = (list.items ?? []).sort((a, b) => (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""));
      const read = pods.slice(0, MAX_LOG_PODS);
      // One pod after the other: a deployment's pods are few, and this keeps the tunnel's load per query small.
      const out = [];
      for (const p of read) {
        const pod = p.metadata?.name ?? "";
        const container = req.container || defaultContainer(p);
        const r = await get(ctx, cluster, `/api/v1/namespaces/${ns}/pods/${encodeURIComponent(pod)}/log?container=${encodeURIComponent(container)}&tailLines=${tail}`, "*/*");
        if (r.status === 200) out.push({ pod, container, lines: logLines(r.text, tail), error: "" });
        else out.push({ pod, container, lines: [], error: statusMessage(r.text, r.status) });
      }
      return { pods: out, selector, truncated: pods.length > read.length };
    },

    async getRolloutStatus(req, ctx) {
      const cluster = need("cluster_id", req.clusterId, clusterOk);
      const ns = need("namespace", req.namespace, isDnsLabel);
      const name = need("name", req.name, isDnsSubdomain);
      const v = rolloutView(await getJson<DeploymentObject>(ctx, cluster, `/apis/apps/v1/namespaces/${ns}/deployments/${name}`));
      const state = v.state === "done" ? queryv1.RolloutState.DONE : v.state === "failed" ? queryv1.RolloutState.FAILED : queryv1.RolloutState.PROGRESSING;
      return { desired: v.desired, updated: v.updated, ready: v.ready, available: v.available, current: v.current, state, message: v.message, generation: BigInt(v.generation), observedGeneration: BigInt(v.observedGeneration) };
    },

    async listRollouts(req, ctx) {
      const cluster = need("cluster_id", req.clusterId, clusterOk);
      if (req.namespace) need("namespace", req.namespace, isDnsLabel);
      if (req.limit > MAX_ROLLOUTS) throw new InvalidQueryError(`limit must be at most ${MAX_ROLLOUTS}`);
      const scope = req.namespace ? `/namespaces/${req.namespace}` : "";
      // Three lists, one after the other (like the log query: a small load on the tunnel per query).
      const all = [];
      for (const w of WORKLOADS) {
        const list = await getJson<{ items?: WorkloadObject[] }>(ctx, cluster, `/apis/apps/v1${scope}/${w.plural}`);
        for (const o of list.items ?? []) all.push(workloadRollout(w.kind, o));
      }
      const rollouts = sortRollouts(all)
        .slice(0, req.limit || DEFAULT_ROLLOUTS)
        .map((r) => ({
          kind: r.kind,
          namespace: r.namespace,
          name: r.name,
          desired: r.desired,
          updated: r.updated,
          ready: r.ready,
          available: r.available,
          generation: BigInt(r.generation),
          observedGeneration: BigInt(r.observedGeneration),
          state: ROLLOUT_STATE[r.state],
          message: r.message,
          conditionMessage: r.conditionMessage,
          ...(r.changedAt ? { changedAt: timestampFromDate(new Date(r.changedAt)) } : {}),
        }));
      return { rollouts, total: all.length };
    },

    async getEdgeStatus(req, ctx) {
      const cluster = need("cluster_id", req.clusterId, clusterOk);
      if (!ctx.tenantId) throw new DaaluError(Code.Unauthenticated, "queries need a tenant", { reason: "TENANT_REQUIRED" });
      if (!deps.edgeStatus) throw new DaaluError(Code.Unimplemented, "this tunnel-proxy cannot ask edges for their status", { reason: "NOT_IMPLEMENTED" });
      return { status: await deps.edgeStatus(ctx.tenantId, cluster, Date.now() + getTimeout) };
    },

    async listNodes(req, ctx) {
      const cluster = need("cluster_id", req.clusterId, clusterOk);
      const list = await getJson<{ items?: NodeObject[] }>(ctx, cluster, "/api/v1/nodes");
      const nodes = (list.items ?? [])
        .map((n) => ({ ...nodeView(n), ...(n.metadata?.creationTimestamp ? { createdAt: timestampFromDate(new Date(n.metadata.creationTimestamp)) } : {}) }))
        .sort((a, b) => a.name.localeCompare(b.name));
      return { nodes };
    },
  };
}

/** The message of a Kubernetes Status body, else the status line. */
function statusMessage(text: string, status: number): string {
  try {
    const s = JSON.parse(text) as { kind?: string; message?: string };
    if (s && typeof s.message === "string" && s.message) return s.message;
  } catch {
    // not JSON: fall through
  }
  return text.trim().slice(0, 500) || `the API server answered ${status}`;
}
