/**
 * Drift detection over REST (the drift service over NATS):
 *
 *   PUT  /v1/clusters/:id/desired-state    admin     YAML body (application/yaml, text/yaml or text/plain), ≤ 1 MiB
 *   GET  /v1/clusters/:id/desired-state    any role  ?version=N (default latest): metadata and objects, never a Secret value
 *   PUT  /v1/clusters/:id/reconciliation   admin     { enabled, intervalSeconds?, ignore? } — audited by drift
 *   GET  /v1/clusters/:id/reconciliation   any role
 *   POST /v1/clusters/:id/drift/check      operator  checks now; the report (409 RECONCILIATION_OFF when off)
 *   GET  /v1/clusters/:id/drift            any role  the latest report (404 DRIFT_REPORT_NOT_FOUND before the first)
 *
 * Another tenant's cluster is 404: the routes that change something ask
 * peering for the cluster first; the reads are tenant-scoped by drift.
 * Register with `app.register(driftRoutesPlugin, { auth, drift, peering })`.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { driftv1, type DriftClient } from "@daalu/drift";
import type { PeeringClient } from "@daalu/peering";
import { requireOperator, type Authenticator } from "../auth.js";
import { BadRequestError } from "../errors.js";
import { ADMIN, authenticate, inSpan, principalOf } from "./route-kit.js";
import { idParam } from "./schemas.js";

export interface DriftRoutesOptions {
  auth: Authenticator;
  drift: DriftClient;
  peering: PeeringClient;
  /** How long a check may take (default 60 s). */
  checkTimeoutMs?: number;
}

/** The largest desired-state upload the gateway reads (drift refuses above its own, smaller limit). */
export const DESIRED_STATE_BODY_LIMIT = 1024 * 1024;
const YAML_TYPES = ["application/yaml", "application/x-yaml", "text/yaml", "text/plain"];

export const desiredStateQuery = {
  type: "object",
  additionalProperties: false,
  properties: { version: { type: "string", pattern: "^[1-9][0-9]{0,8}$", description: "a version; default the latest" } },
} as const;

export const reconciliationBody = {
  type: "object",
  additionalProperties: false,
  required: ["enabled"],
  properties: {
    enabled: { type: "boolean" },
    intervalSeconds: { type: "integer", minimum: 0, maximum: 86_400, description: "30..86400; 0 or absent: 300" },
    ignore: {
      type: "array",
      maxItems: 200,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["kind", "pointers"],
        properties: {
          kind: { type: "string", maxLength: 63 },
          name: { type: "string", maxLength: 253 },
          namespace: { type: "string", maxLength: 63 },
          pointers: { type: "array", minItems: 1, maxItems: 50, items: { type: "string", maxLength: 1024 } },
        },
      },
    },
  },
} as const;

type ReconciliationBody = { enabled: boolean; intervalSeconds?: number; ignore?: { kind: string; name?: string; namespace?: string; pointers: string[] }[] };

const iso = (t: Timestamp | undefined) => (t ? timestampDate(t).toISOString() : null);
const enumName = (e: Record<number, string>, v: number) => (e[v] ?? "UNSPECIFIED").toLowerCase();

function bundleJson(b: driftv1.DesiredStateBundle | undefined) {
  return b ? { version: b.version, digest: b.digest, objectCount: b.objectCount, sizeBytes: b.sizeBytes, uploadedBy: b.uploadedBy, uploadedAt: iso(b.uploadedAt) } : null;
}

function settingsJson(r: driftv1.Reconciliation | undefined) {
  return {
    enabled: r?.enabled ?? false,
    intervalSeconds: r?.intervalSeconds ?? 0,
    ignore: (r?.ignore ?? []).map((x) => ({ kind: x.kind, name: x.name || null, namespace: x.namespace || null, pointers: x.pointers })),
    updatedBy: r?.updatedBy || null,
    updatedAt: iso(r?.updatedAt),
  };
}

/** The report as the REST API shows it: states in lower case, each patch as JSON. */
export function reportJson(r: driftv1.DriftReport | undefined) {
  if (!r) return null;
  const s = r.summary;
  return {
    clusterId: r.clusterId,
    bundleVersion: r.bundleVersion,
    trigger: enumName(driftv1.CheckTrigger, r.trigger),
    startedAt: iso(r.startedAt),
    lastChecked: iso(r.finishedAt),
    drifted: r.drifted,
    reads: r.reads,
    summary: { inSync: s?.inSync ?? 0, modified: s?.modified ?? 0, missing: s?.missing ?? 0, unknown: s?.unknown ?? 0 },
    objects: r.objects.map((o) => ({
      apiVersion: o.apiVersion,
      kind: o.kind,
      namespace: o.namespace || null,
      name: o.name,
      state: enumName(driftv1.ObjectDriftState, o.state),
      patch: o.patch ? (JSON.parse(o.patch) as unknown) : null,
      error: o.error || null,
      scope: o.scope || null,
    })),
  };
}

export async function driftRoutesPlugin(app: FastifyInstance, opts: DriftRoutesOptions): Promise<void> {
  type Req = { Params: { id: string } };
  const call = (req: FastifyRequest) => {
    const p = principalOf(req);
    return { tenantId: p.tenantId, caller: p.caller };
  };
  /** 404 (CLUSTER_NOT_FOUND) unless the cluster is the caller's tenant's. */
  const ownCluster = (req: FastifyRequest, clusterId: string) => opts.peering.getCluster({ clusterId }, call(req));
  // YAML uploads, in this plugin's routes only.
  app.addContentTypeParser(YAML_TYPES, { parseAs: "string", bodyLimit: DESIRED_STATE_BODY_LIMIT }, (_req, body, done) => done(null, body));

  app.put<Req & { Body: unknown }>("/v1/clusters/:id/desired-state", { config: ADMIN, bodyLimit: DESIRED_STATE_BODY_LIMIT, schema: { params: idParam } }, (req) =>
    inSpan(req, async () => {
      if (typeof req.body !== "string") throw new BadRequestError(`send the manifests as YAML (Content-Type: ${YAML_TYPES.join(", ")})`);
      await ownCluster(req, req.params.id);
      const r = await opts.drift.putDesiredState({ clusterId: req.params.id, yaml: req.body }, call(req));
      return { bundle: bundleJson(r.bundle), created: r.created };
    }),
  );

  app.get<Req & { Querystring: { version?: string } }>("/v1/clusters/:id/desired-state", { schema: { params: idParam, querystring: desiredStateQuery } }, (req) =>
    inSpan(req, async () => {
      const r = await opts.drift.getDesiredState({ clusterId: req.params.id, version: Number(req.query.version ?? 0) }, call(req));
      return { bundle: bundleJson(r.bundle), objects: r.objects.map((o) => ({ apiVersion: o.apiVersion, kind: o.kind, namespace: o.namespace || null, name: o.name, document: o.document, line: o.line })) };
    }),
  );

  app.put<Req & { Body: ReconciliationBody }>("/v1/clusters/:id/reconciliation", { config: ADMIN, schema: { params: idParam, body: reconciliationBody } }, (req) =>
    inSpan(req, async () => {
      await ownCluster(req, req.params.id);
      const b = req.body;
      const r = await opts.drift.setReconciliation(
        { clusterId: req.params.id, enabled: b.enabled, intervalSeconds: b.intervalSeconds ?? 0, ignore: (b.ignore ?? []).map((x) => ({ kind: x.kind, name: x.name ?? "", namespace: x.namespace ?? "", pointers: x.pointers })) },
        call(req),
      );
      return settingsJson(r.reconciliation);
    }),
  );

  app.get<Req>("/v1/clusters/:id/reconciliation", { schema: { params: idParam } }, (req) =>
    inSpan(req, async () => settingsJson((await opts.drift.getReconciliation({ clusterId: req.params.id }, call(req))).reconciliation)),
  );

  app.post<Req>(
    "/v1/clusters/:id/drift/check",
    {
      schema: { params: idParam },
      preValidation: async (req) => {
        // Viewers read reports; starting a check needs an operator (or admin).
        requireOperator(await authenticate(opts.auth, req));
        const b = req.body as unknown;
        if (b !== undefined && b !== null && (typeof b !== "object" || Object.keys(b).length > 0)) throw new BadRequestError("this action takes no request body");
      },
    },
    (req) =>
      inSpan(req, async () => {
        await ownCluster(req, req.params.id);
        const r = await opts.drift.checkNow({ clusterId: req.params.id }, { ...call(req), timeoutMs: opts.checkTimeoutMs ?? 60_000 });
        return reportJson(r.report);
      }),
  );

  app.get<Req>("/v1/clusters/:id/drift", { schema: { params: idParam } }, (req) => inSpan(req, async () => reportJson((await opts.drift.getDriftReport({ clusterId: req.params.id }, call(req))).report)));
}
