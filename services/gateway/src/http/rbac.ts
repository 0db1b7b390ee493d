/**
 * RBAC widening of a cluster's edge ("Daalu generates the patch for you to apply"):
 *
 *   GET  /v1/clusters/:id/rbac         any role: requested vs effective, per named scope
 *   POST /v1/clusters/:id/rbac/patch   admin: {scopes, customRules?, release?, namespace?} →
 *                                      the ClusterRole manifest, the chart values and the helm command
 *
 * The scopes, the patch and the comparison are @daalu/rbac's; peering keeps
 * what was requested and what the edge reported (`cluster_rbac`). The GET
 * asks the edge for its effective rules through the tunnel (GetStatus) and
 * stores the answer; when the tunnel is down it shows the last stored one.
 * The hub never applies a patch.
 */
import type { FastifyInstance } from "fastify";
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { PeeringClient } from "@daalu/peering";
import { CallerKind } from "@daalu/proto";
import { generatePatch, rbacView, ScopeError, type Rule, type Selection } from "@daalu/rbac";
import { Code, DaaluError, type Logger } from "@daalu/runtime";
import type { QueryClient } from "@daalu/tunnel-proxy";
import { ADMIN, inSpan, principalOf } from "./route-kit.js";
import { idParam } from "./schemas.js";

export interface RbacRoutesOptions {
  peering: PeeringClient;
  queries: QueryClient;
  logger: Logger;
  /** `--repo <publicUrl>/charts` in the printed command. */
  publicUrl: string;
  chart: { version: string; appVersion: string };
  /** How long the edge may take to answer GetStatus through the tunnel. */
  edgeTimeoutMs?: number;
}

const DNS_LABEL = "^[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?$";
const strings = (max: number) => ({ type: "array", maxItems: max, items: { type: "string", maxLength: 253 } }) as const;
export const ruleSchema = {
  type: "object",
  additionalProperties: false,
  required: ["apiGroups", "resources", "verbs"],
  properties: { apiGroups: strings(20), resources: strings(50), verbs: strings(20), resourceNames: strings(50) },
} as const;
export const rbacPatchBody = {
  type: "object",
  additionalProperties: false,
  required: ["scopes"],
  properties: {
    scopes: { ...strings(50), description: "named scopes of @daalu/rbac (see GET …/rbac), e.g. read-wide, configmaps, exec, custom-resources:cert-manager.io" },
    customRules: { type: "array", maxItems: 50, items: ruleSchema },
    release: { type: "string", pattern: DNS_LABEL, description: "the edge's helm release (default daalu-edge)" },
    namespace: { type: "string", pattern: DNS_LABEL, description: "its namespace (default daalu-edge)" },
  },
} as const;

type PatchBody = { scopes: string[]; customRules?: Rule[]; release?: string; namespace?: string };
type WireRule = { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames: string[] };

const iso = (t: Timestamp | undefined) => (t ? timestampDate(t).toISOString() : null);
const fromWire = (r: WireRule): Rule => ({ apiGroups: r.apiGroups, resources: r.resources, verbs: r.verbs, ...(r.resourceNames.length > 0 ? { resourceNames: r.resourceNames } : {}) });
const toWire = (r: Rule): WireRule => ({ apiGroups: r.apiGroups, resources: r.resources, verbs: r.verbs, resourceNames: r.resourceNames ?? [] });

function scopeProblem(err: unknown): never {
  if (err instanceof ScopeError) throw new DaaluError(Code.InvalidArgument, err.message, { reason: err.reason });
  throw err;
}

export async function rbacRoutesPlugin(app: FastifyInstance, opts: RbacRoutesOptions): Promise<void> {
  const edgeTimeoutMs = opts.edgeTimeoutMs ?? 10_000;
  const asGateway = (tenantId: string) => ({ tenantId, caller: { kind: CallerKind.SERVICE, id: "gateway" } });

  app.get<{ Params: { id: string } }>("/v1/clusters/:id/rbac", { schema: { params: idParam } }, (req) =>
    inSpan(req, async () => {
      const p = principalOf(req);
      const call = { tenantId: p.tenantId, caller: p.caller };
      let rbac = (await opts.peering.getClusterRbac({ clusterId: req.params.id }, call)).rbac!;
      let source: "edge" | "stored" = "stored";
      let liveError: string | null = null;
      try {
        const s = (await opts.queries.getEdgeStatus({ clusterId: req.params.id }, { ...call, timeoutMs: edgeTimeoutMs })).status;
        if (s?.effectiveRulesAt) {
          const report = { clusterId: rbac.clusterId, rules: s.effectiveRules, incomplete: s.effectiveRulesIncomplete, error: s.effectiveRulesError, at: s.effectiveRulesAt };
          rbac = (await opts.peering.recordEffectiveRbac(report, asGateway(p.tenantId))).rbac!;
          source = "edge";
        } else liveError = "the edge does not report its RBAC (an edge older than this hub)";
      } catch (err) {
        if (!(err instanceof DaaluError) || err.code === Code.Internal) throw err;
        liveError = err.message;
      }
      const requested: Selection | undefined = rbac.requestedAt ? { scopes: rbac.requestedScopes, customRules: rbac.requestedCustomRules.map(fromWire) } : undefined;
      const known = rbac.effectiveAt !== undefined && rbac.effectiveError === "";
      const view = rbacView(requested, known ? rbac.effectiveRules.map(fromWire) : undefined);
      return {
        clusterId: rbac.clusterId,
        scopes: view.scopes,
        applied: view.applied,
        confirmedAt: iso(rbac.confirmedAt),
        customRulesGranted: view.customRulesGranted ?? null,
        requested: requested ? { scopes: rbac.requestedScopes, customRules: requested.customRules, at: iso(rbac.requestedAt), by: rbac.requestedBy } : null,
        effective: rbac.effectiveAt
          ? { source, at: iso(rbac.effectiveAt), rules: rbac.effectiveRules.map(fromWire), incomplete: rbac.effectiveIncomplete, error: rbac.effectiveError || null, liveError }
          : { source, at: null, rules: [], incomplete: false, error: null, liveError },
      };
    }),
  );

  app.post<{ Params: { id: string }; Body: PatchBody }>("/v1/clusters/:id/rbac/patch", { config: ADMIN, schema: { params: idParam, body: rbacPatchBody } }, (req) =>
    inSpan(req, async () => {
      const p = principalOf(req);
      const b = req.body;
      const target = { release: b.release ?? "daalu-edge", namespace: b.namespace ?? "daalu-edge", chartVersion: opts.chart.version, appVersion: opts.chart.appVersion, hubUrl: opts.publicUrl };
      let patch;
      try {
        patch = generatePatch({ scopes: b.scopes, customRules: b.customRules ?? [] }, target);
      } catch (err) {
        scopeProblem(err);
      }
      // Recorded (and the cluster checked against the tenant) before anything is shown.
      const rbac = (await opts.peering.recordRbacRequest({ clusterId: req.params.id, scopes: b.scopes, customRules: patch.resolved.customRules.map(toWire) }, { tenantId: p.tenantId, caller: p.caller })).rbac!;
      opts.logger.info({ clusterId: rbac.clusterId, scopes: rbac.requestedScopes, includesSecrets: patch.resolved.includesSecrets }, "rbac patch generated");
      return {
        clusterId: rbac.clusterId,
        scopes: patch.resolved.scopes.map((s) => ({ name: s.name, description: s.description, includesSecrets: s.includesSecrets })),
        includesSecrets: patch.resolved.includesSecrets,
        rules: patch.objects[0]!["rules"],
        manifest: patch.manifest,
        values: patch.valuesYaml,
        helmCommand: patch.helmCommand,
        requestedAt: iso(rbac.requestedAt),
      };
    }),
  );
}
