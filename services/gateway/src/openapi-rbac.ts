/** The RBAC widening routes' part of the OpenAPI document (openapi.ts spreads it in; http/rbac.ts serves them). */
import { rbacPatchBody, ruleSchema } from "./http/rbac.js";

type Helpers = { json: (schema: object) => object; body: (schema: object) => object; errors: object; secured: object; idParams: object };

const str = { type: "string" } as const;
const nstr = { type: ["string", "null"] } as const;
const ts = { type: ["string", "null"], format: "date-time" } as const;
const bool = { type: "boolean" } as const;
const obj = (properties: object) => ({ type: "object", properties });
const rules = { type: "array", items: ruleSchema };

export function rbacPaths(h: Helpers) {
  const scope = obj({ name: str, description: str, includesSecrets: bool });
  return {
    "/v1/clusters/{id}/rbac": {
      get: {
        summary: "Requested vs effective RBAC of the edge's proxy account, per named scope",
        description:
          "Asks the edge for its effective rules through the tunnel (SelfSubjectRulesReview in GetStatus) and stores them; when the tunnel is down, the last stored report (effective.source = stored, effective.liveError says why). effective is granted, missing, or unknown while no report is known. applied: every rule of the last requested patch is granted; confirmedAt: when a report first showed it.",
        security: h.secured,
        parameters: h.idParams,
        responses: {
          "200": h.json(
            obj({
              clusterId: str,
              scopes: { type: "array", items: obj({ name: str, description: str, includesSecrets: bool, requested: bool, effective: { type: "string", enum: ["granted", "missing", "unknown"] } }) },
              applied: bool,
              confirmedAt: ts,
              customRulesGranted: { type: ["boolean", "null"] },
              requested: { type: ["object", "null"], properties: { scopes: { type: "array", items: str }, customRules: rules, at: ts, by: str } },
              effective: obj({ source: { type: "string", enum: ["edge", "stored"] }, at: ts, rules, incomplete: bool, error: nstr, liveError: nstr }),
            }),
          ),
          ...h.errors,
        },
      },
    },
    "/v1/clusters/{id}/rbac/patch": {
      post: {
        summary: "Generate the RBAC patch for the chosen scopes (admin): the ClusterRole manifest, the chart values and the helm upgrade command; the hub never applies it",
        description: "Records the request (GET …/rbac then shows requested vs effective). 400 RBAC_SCOPE_UNKNOWN for a scope the hub does not know, RBAC_SCOPE_INVALID (e.g. custom-resources: of a built-in group), RBAC_CUSTOM_RULE_INVALID. A scope that reads Secrets says so (includesSecrets).",
        security: h.secured,
        parameters: h.idParams,
        requestBody: h.body(rbacPatchBody),
        responses: {
          "200": h.json(obj({ clusterId: str, scopes: { type: "array", items: scope }, includesSecrets: bool, rules, manifest: str, values: str, helmCommand: str, requestedAt: ts })),
          ...h.errors,
        },
      },
    },
  };
}
