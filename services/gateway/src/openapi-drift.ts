/** The drift routes' part of the OpenAPI document (openapi.ts spreads it in; http/drift-routes.ts serves them). */
import { desiredStateQuery, reconciliationBody } from "./http/drift-routes.js";

type Helpers = {
  json: (schema: object) => object;
  body: (schema: object) => object;
  errors: object;
  secured: object;
  idParams: object[];
  queryParams: (schema: { properties: object; required?: readonly string[] }) => object[];
  problem: object;
};

const str = { type: "string" } as const;
const int = { type: "integer" } as const;
const ts = { type: ["string", "null"], format: "date-time" } as const;
const obj = (properties: object) => ({ type: "object", properties });
const ref = (n: string) => ({ $ref: `#/components/schemas/${n}` });

export const driftSchemas = {
  DesiredStateBundle: obj({ version: int, digest: str, objectCount: int, sizeBytes: int, uploadedBy: str, uploadedAt: ts }),
  Reconciliation: obj({
    enabled: { type: "boolean" },
    intervalSeconds: int,
    ignore: { type: "array", items: obj({ kind: str, name: { type: ["string", "null"] }, namespace: { type: ["string", "null"] }, pointers: { type: "array", items: str } }) },
    updatedBy: { type: ["string", "null"] },
    updatedAt: ts,
  }),
  DriftReport: obj({
    clusterId: str,
    bundleVersion: int,
    trigger: { type: "string", enum: ["schedule", "on_demand", "reconnect"] },
    startedAt: ts,
    lastChecked: ts,
    drifted: { type: "boolean", description: "a drift episode is open (drift.detected published, drift.resolved not yet)" },
    reads: int,
    summary: obj({ inSync: int, modified: int, missing: int, unknown: int }),
    objects: {
      type: "array",
      items: obj({
        apiVersion: str,
        kind: str,
        namespace: { type: ["string", "null"] },
        name: str,
        state: { type: "string", enum: ["in_sync", "modified", "missing", "unknown"] },
        patch: { type: ["array", "null"], description: "RFC 6902 from live to desired; Secret values only as sha256 hashes" },
        error: { type: ["string", "null"] },
        scope: { type: ["string", "null"], description: "for a Forbidden read: the RBAC grant that would allow it" },
      }),
    },
  }),
};

export function driftPaths(h: Helpers) {
  return {
  "/v1/clusters/{id}/desired-state": {
    put: {
      summary: "Upload the cluster's desired state (admin): multi-document Kubernetes YAML, stored as the next version",
      description: "400 DESIRED_STATE_INVALID lists every problem as \"document N, line L: …\"; nothing is stored then. An upload equal to the latest version stores nothing (created: false). Secret values are stored and shown only as sha256 hashes.",
      security: h.secured,
      parameters: h.idParams,
      requestBody: { required: true, content: { "application/yaml": { schema: str }, "text/plain": { schema: str } } },
      responses: { "200": h.json(obj({ bundle: ref("DesiredStateBundle"), created: { type: "boolean" } })), ...h.errors },
    },
    get: {
      summary: "The latest (or ?version=) desired state: metadata and each object's identity and position, never a Secret value",
      security: h.secured,
      parameters: [...h.idParams, ...h.queryParams(desiredStateQuery)],
      responses: { "200": h.json(obj({ bundle: ref("DesiredStateBundle"), objects: { type: "array", items: obj({ apiVersion: str, kind: str, namespace: { type: ["string", "null"] }, name: str, document: int, line: int }) } })), ...h.errors },
    },
  },
  "/v1/clusters/{id}/reconciliation": {
    put: {
      summary: "Turn drift detection of the cluster on or off, set its interval and ignore rules (admin; one audit row names the caller)",
      description: "Off (the default) means no drift read goes through the cluster's tunnel. 400 RECONCILIATION_INVALID for an interval outside 30..86400 s or a pointer that is not RFC 6901.",
      security: h.secured,
      parameters: h.idParams,
      requestBody: h.body(reconciliationBody),
      responses: { "200": h.json(ref("Reconciliation")), ...h.errors },
    },
    get: { summary: "The cluster's reconciliation settings (defaults when never set)", security: h.secured, parameters: h.idParams, responses: { "200": h.json(ref("Reconciliation")), ...h.errors } },
  },
  "/v1/clusters/{id}/drift/check": {
    post: {
      summary: "Check the cluster for drift now (operator); the report",
      description: "409 RECONCILIATION_OFF when reconciliation is off (nothing is read); 404 DESIRED_STATE_NOT_FOUND without a desired state.",
      security: h.secured,
      parameters: h.idParams,
      responses: { "200": h.json(ref("DriftReport")), ...h.errors, "504": h.problem },
    },
  },
  "/v1/clusters/{id}/drift": {
    get: { summary: "The cluster's latest drift report (404 DRIFT_REPORT_NOT_FOUND before the first check)", security: h.secured, parameters: h.idParams, responses: { "200": h.json(ref("DriftReport")), ...h.errors } },
  },
  };
}
