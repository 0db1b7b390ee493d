/**
 * The self-review APIs a real API server answers for any signed-in user
 * (bootstrap role system:basic-user): SelfSubjectAccessReview (`kubectl auth
 * can-i`), SelfSubjectRulesReview (`auth can-i --list`) and SelfSubjectReview
 * (`auth whoami`), evaluated against the double's RBAC (its policy and the
 * stored ClusterRoles and ClusterRoleBindings). Nothing is stored.
 */
import type http from "node:http";
import { authorize, authorizeNonResource, policyFor, rulesOf, type KubeUser } from "./rbac.js";
import { badRequest } from "./status.js";
import type { ServerState } from "./state.js";
import { readBody } from "./request.js";
import { nowTimestamp, writeJson } from "./respond.js";

/** plural → the kind and group-version it answers with. */
export const REVIEW_KINDS: Readonly<Record<string, { kind: string; apiVersion: string }>> = {
  selfsubjectaccessreviews: { kind: "SelfSubjectAccessReview", apiVersion: "authorization.k8s.io/v1" },
  selfsubjectrulesreviews: { kind: "SelfSubjectRulesReview", apiVersion: "authorization.k8s.io/v1" },
  selfsubjectreviews: { kind: "SelfSubjectReview", apiVersion: "authentication.k8s.io/v1" },
};

type Body = { metadata?: Record<string, unknown>; spec?: Record<string, any> } | null;

export function createReviewHandler(state: ServerState) {
  function accessStatus(user: KubeUser, spec: Record<string, any>): { allowed: boolean } {
    const policy = policyFor(state.policy, state.store, user);
    const ra = spec["resourceAttributes"] as Record<string, string> | undefined;
    const nra = spec["nonResourceAttributes"] as Record<string, string> | undefined;
    if (ra) {
      const a = { user, verb: ra["verb"] ?? "", group: ra["group"] ?? "", plural: ra["resource"] ?? "", ...(ra["subresource"] ? { subresource: ra["subresource"] } : {}), ...(ra["namespace"] ? { namespace: ra["namespace"] } : {}), ...(ra["name"] ? { name: ra["name"] } : {}) };
      return { allowed: authorize(policy, a) };
    }
    if (nra) return { allowed: authorizeNonResource(policy, user, nra["verb"] ?? "", nra["path"] ?? "") };
    throw badRequest('SelfSubjectAccessReview "" is invalid: spec.resourceAttributes: Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified');
  }

  function rulesStatus(user: KubeUser, namespace: string): object {
    if (user.groups?.includes("system:masters")) {
      return { resourceRules: [{ verbs: ["*"], apiGroups: ["*"], resources: ["*"] }], nonResourceRules: [{ verbs: ["*"], nonResourceURLs: ["*"] }], incomplete: false };
    }
    const rules = rulesOf(policyFor(state.policy, state.store, user), user).filter((r) => !r.namespaces || r.namespaces.includes(namespace));
    return {
      resourceRules: rules.filter((r) => !r.nonResourceURLs).map((r) => ({ verbs: r.verbs, apiGroups: r.apiGroups ?? ["*"], resources: r.resources, ...(r.resourceNames ? { resourceNames: r.resourceNames } : {}) })),
      nonResourceRules: rules.filter((r) => r.nonResourceURLs).map((r) => ({ verbs: r.verbs, nonResourceURLs: r.nonResourceURLs })),
      incomplete: false,
    };
  }

  return async function handleReview(plural: string, user: KubeUser, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const { kind, apiVersion } = REVIEW_KINDS[plural]!;
    const body = (await readBody(req)) as Body;
    const spec = body?.spec ?? {};
    let status: object;
    if (plural === "selfsubjectaccessreviews") status = accessStatus(user, spec);
    else if (plural === "selfsubjectrulesreviews") {
      if (!spec["namespace"]) throw badRequest('SelfSubjectRulesReview "" is invalid: spec.namespace: Required value: no namespace on request');
      status = rulesStatus(user, String(spec["namespace"]));
    } else status = { userInfo: { username: user.name, ...(user.groups ? { groups: user.groups } : {}) } };
    writeJson(res, 201, { kind, apiVersion, metadata: { creationTimestamp: nowTimestamp() }, ...(plural === "selfsubjectreviews" ? {} : { spec }), status });
  };
}
