/**
 * PeeringService implementation shared by the NATS and gRPC adapters: decode
 * -> store -> encode. Tenant-scoped calls take the tenant from the call context
 * only; enrollment calls are internal (the invite service) and locate the
 * cluster by id.
 */
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { CallerKind, peeringv1 } from "@daalu/proto";
import { Code, DaaluError, TENANT_ID_PATTERN, formatCaller, requireTenant, type CallContext, type MethodsOf, type ServiceImpl } from "@daalu/runtime";
import { resolve, ScopeError } from "@daalu/rbac";
import { isValidPublicKey } from "@daalu/wireguard";
import { clusterNameProblem } from "../../domain/cluster.js";
import type { EdgeReleases } from "../../domain/edge-release.js";
import { EnrollmentInProgressError, InvalidArgumentError, InvalidClusterNameError, InvalidPublicKeyError, RbacScopeError } from "../../errors.js";
import type { ClusterRecord, PeeringStore, Reservation } from "../pg/store.js";
import { alertToProto, clusterToProto as toProto, rbacToProto, ruleFromProto, statusToProto, subnetToProto } from "./convert.js";
import type { ClusterEvents } from "./events.js";

export type PeeringMethods = MethodsOf<typeof peeringv1.PeeringService>;

/** What the edge needs to reach the hub. */
export interface HubInfo {
  publicKey: string;
  endpoint: string;
  /** Every hub node's endpoint, in the order edges try them (endpoint is the first). */
  endpoints: string[];
  keepaliveSeconds: number;
}

export interface HandlerDeps {
  store: PeeringStore;
  events: ClusterEvents;
  hub: HubInfo;
  /** The edge releases rows are judged against (update_available, edge_support, upgrade_command). */
  releases: EdgeReleases;
  /**
   * Settles the reservation a cluster still holds from an earlier enrollment
   * (recovery's settlePending); false when that could not be decided now.
   */
  settlePending?: (clusterId: string) => Promise<boolean>;
}

function tenantOf(ctx: CallContext): string {
  const t = requireTenant(ctx);
  if (!TENANT_ID_PATTERN.test(t)) throw new InvalidArgumentError(`tenant id "${t.slice(0, 70)}" is not valid`);
  return t;
}

/** Enrollment calls come from the invite service, never from an operator. */
function internalScope(ctx: CallContext): string | undefined {
  if (ctx.caller.kind !== CallerKind.SERVICE) {
    throw new DaaluError(Code.PermissionDenied, "enrollment calls are internal to the hub", { reason: "INTERNAL_CALL_ONLY" });
  }
  return ctx.tenantId ? tenantOf(ctx) : undefined;
}

/** History pages: 50 rows unless asked, never more than 500. */
const DEFAULT_HISTORY_LIMIT = 50;
const MAX_HISTORY_LIMIT = 500;
function historyLimit(n: number): number {
  return n === 0 ? DEFAULT_HISTORY_LIMIT : Math.min(n, MAX_HISTORY_LIMIT);
}

function enrollmentIdOf(id: string): string {
  if (id.length === 0 || id.length > 200) throw new InvalidArgumentError("enrollment_id is required (at most 200 characters)");
  return id;
}

export function tunnelConfig(r: Reservation, hub: HubInfo) {
  return {
    tunnelIp: r.cluster.tunnelIp ?? "",
    subnet: r.subnet.cidr,
    hubTunnelIp: r.subnet.hubIp,
    hubPublicKey: hub.publicKey,
    hubEndpoint: hub.endpoint,
    hubEndpoints: hub.endpoints,
    keepaliveSeconds: hub.keepaliveSeconds,
    clusterName: r.cluster.name,
  };
}

export function peeringImpl({ store, events, hub, releases, settlePending }: HandlerDeps): ServiceImpl<PeeringMethods> {
  const clusterToProto = (c: ClusterRecord) => toProto(c, releases);
  return {
    async createCluster(req, ctx) {
      const tenantId = tenantOf(ctx);
      const problem = clusterNameProblem(req.name);
      if (problem) throw new InvalidClusterNameError(problem);
      await store.ensureSubnet(tenantId, req.subnet || undefined);
      const cluster = await store.createCluster(tenantId, req.name);
      events.publish({ kind: peeringv1.ClusterEventKind.CREATED, cluster });
      ctx.logger.info({ tenantId, clusterId: cluster.id, name: cluster.name }, "cluster created");
      return { cluster: clusterToProto(cluster) };
    },

    async getCluster(req, ctx) {
      return { cluster: clusterToProto(await store.getCluster(req.clusterId, tenantOf(ctx))) };
    },

    async listClusters(_req, ctx) {
      return { clusters: (await store.listClusters(tenantOf(ctx))).map(clusterToProto) };
    },

    async deleteCluster(req, ctx) {
      const tenantId = tenantOf(ctx);
      const { cluster, subnet } = await store.deleteCluster(req.clusterId, tenantId);
      events.publish({ kind: peeringv1.ClusterEventKind.DELETED, cluster, subnet, previousPublicKey: cluster.publicKey });
      ctx.logger.info({ tenantId, clusterId: cluster.id, tunnelIp: cluster.tunnelIp }, "cluster deleted");
      return { cluster: clusterToProto(cluster) };
    },

    async getTenantSubnet(_req, ctx) {
      const tenantId = tenantOf(ctx);
      const s = await store.getSubnet(tenantId);
      if (!s) throw new DaaluError(Code.NotFound, "this tenant has no subnet yet (it is assigned with the first cluster)", { reason: "SUBNET_NOT_FOUND" });
      return { subnet: subnetToProto(s) };
    },

    async setTenantSubnet(req, ctx) {
      const tenantId = tenantOf(ctx);
      const s = await store.setSubnet(tenantId, req.cidr);
      ctx.logger.info({ tenantId, cidr: s.cidr }, "tenant subnet set");
      return { subnet: subnetToProto(s) };
    },

    async reserveEnrollment(req, ctx) {
      const scope = internalScope(ctx);
      // Refused before anything changes: a low-order key can never have a
      // session, and the hub's own key as a peer of the hub is meaningless.
      if (!isValidPublicKey(req.publicKey)) throw new InvalidPublicKeyError();
      if (req.publicKey === hub.publicKey) throw new InvalidPublicKeyError("the public key is the hub's own key; generate a key pair on the edge");
      const enrollmentId = enrollmentIdOf(req.enrollmentId);
      try {
        return tunnelConfig(await store.reserve(req.clusterId, req.publicKey, enrollmentId, scope), hub);
      } catch (err) {
        // An earlier enrollment's reservation is in the way; its invite is
        // usually redeemed with the one-way commit still in flight. Settle it
        // (commit or release, as recovery would), then try once more.
        if (!(err instanceof EnrollmentInProgressError) || !settlePending || !(await settlePending(req.clusterId))) throw err;
        return tunnelConfig(await store.reserve(req.clusterId, req.publicKey, enrollmentId, scope), hub);
      }
    },

    async commitEnrollment(req, ctx) {
      const scope = internalScope(ctx);
      const r = await store.commit(req.clusterId, enrollmentIdOf(req.enrollmentId), scope === undefined ? {} : { tenantId: scope });
      const cluster = clusterToProto(r.cluster);
      if (!r.replayed) {
        const kind = r.previousPublicKey === null ? peeringv1.ClusterEventKind.ENROLLED : peeringv1.ClusterEventKind.KEY_REPLACED;
        events.publish({ kind, cluster: r.cluster, clusterProto: cluster, subnet: r.subnet, previousPublicKey: r.previousPublicKey });
        ctx.logger.debug({ tenantId: r.cluster.tenantId, clusterId: r.cluster.id, tunnelIp: r.cluster.tunnelIp, kind: peeringv1.ClusterEventKind[kind] }, "enrollment committed");
      }
      return { cluster };
    },

    async listClusterTransitions(req, ctx) {
      const c = await store.getCluster(req.clusterId, tenantOf(ctx));
      const rows = await store.transitions.transitionsOf(c.id, historyLimit(req.limit));
      return { transitions: rows.map((t) => ({ at: timestampFromDate(t.at), from: statusToProto(t.from), to: statusToProto(t.to), diagnostic: t.diagnostic })) };
    },

    async listClusterAlerts(req, ctx) {
      const c = await store.getCluster(req.clusterId, tenantOf(ctx));
      const rows = await store.health.alertsOf(c.id, historyLimit(req.limit));
      return { alerts: rows.map((a) => alertToProto(a, c.name)) };
    },

    async getClusterRbac(req, ctx) {
      const c = await store.getCluster(req.clusterId, tenantOf(ctx));
      return { rbac: rbacToProto(await store.rbac.get(c.id)) };
    },

    async recordRbacRequest(req, ctx) {
      const c = await store.getCluster(req.clusterId, tenantOf(ctx));
      const customRules = req.customRules.map(ruleFromProto);
      try {
        resolve({ scopes: req.scopes, customRules });
      } catch (err) {
        if (err instanceof ScopeError) throw new RbacScopeError(err.reason, err.message);
        throw err;
      }
      const r = await store.rbac.recordRequest(c.id, [...new Set(req.scopes)], customRules, formatCaller(ctx.caller), new Date());
      ctx.logger.info({ clusterId: c.id, scopes: r.requestedScopes, customRules: customRules.length }, "rbac widening requested");
      return { rbac: rbacToProto(r) };
    },

    async recordEffectiveRbac(req, ctx) {
      internalScope(ctx);
      const c = await store.getCluster(req.clusterId, tenantOf(ctx));
      const at = req.at ? timestampDate(req.at) : new Date();
      return { rbac: rbacToProto(await store.rbac.recordEffective(c.id, { rules: req.rules.map(ruleFromProto), incomplete: req.incomplete, error: req.error, at })) };
    },

    async listHomedClusters(req, ctx) {
      internalScope(ctx);
      if (!req.nodeId) throw new InvalidArgumentError("node_id is required");
      const rows = await store.homes.homedOn(req.nodeId);
      return { clusters: rows.map((h) => ({ tenantId: h.tenantId, clusterId: h.clusterId, homeEpoch: BigInt(h.homeEpoch) })) };
    },

    async releaseEnrollment(req, ctx) {
      const scope = internalScope(ctx);
      const released = await store.release(req.clusterId, enrollmentIdOf(req.enrollmentId), scope === undefined ? {} : { tenantId: scope });
      if (released) ctx.logger.info({ clusterId: req.clusterId }, "enrollment released");
      return {};
    },
  };
}
