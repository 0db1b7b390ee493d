/**
 * The resources the double serves, with the discovery facts a real API
 * server publishes for them (kubectl resolves `po`, `deploy`, `all` and
 * `get pods` → group/version/plural from these).
 */
export interface ResourceInfo {
  group: string;
  version: string;
  /** Plural, lower-case: the URL segment. */
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
  /** Subresources served, each with the verbs they accept. */
  subresources?: Record<string, { kind: string; verbs: string[] }>;
}

const RW = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

export const RESOURCES: readonly ResourceInfo[] = [
  { group: "", version: "v1", plural: "namespaces", singular: "namespace", kind: "Namespace", namespaced: false, verbs: ["create", "delete", "get", "list", "patch", "update", "watch"], shortNames: ["ns"] },
  { group: "", version: "v1", plural: "nodes", singular: "node", kind: "Node", namespaced: false, verbs: RW, shortNames: ["no"] },
  { group: "", version: "v1", plural: "pods", singular: "pod", kind: "Pod", namespaced: true, verbs: RW, shortNames: ["po"], categories: ["all"], subresources: { attach: { kind: "PodAttachOptions", verbs: ["create", "get"] }, exec: { kind: "PodExecOptions", verbs: ["create", "get"] }, log: { kind: "Pod", verbs: ["get"] }, portforward: { kind: "PodPortForwardOptions", verbs: ["create", "get"] }, status: { kind: "Pod", verbs: ["get", "patch", "update"] } } },
  { group: "", version: "v1", plural: "services", singular: "service", kind: "Service", namespaced: true, verbs: ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"], shortNames: ["svc"], categories: ["all"] },
  { group: "", version: "v1", plural: "endpoints", singular: "endpoints", kind: "Endpoints", namespaced: true, verbs: RW, shortNames: ["ep"] },
  { group: "", version: "v1", plural: "events", singular: "event", kind: "Event", namespaced: true, verbs: RW, shortNames: ["ev"] },
  { group: "", version: "v1", plural: "secrets", singular: "secret", kind: "Secret", namespaced: true, verbs: RW },
  // Only the token subresource (TokenRequest) is served beyond plain CRUD.
  { group: "", version: "v1", plural: "serviceaccounts", singular: "serviceaccount", kind: "ServiceAccount", namespaced: true, verbs: RW, shortNames: ["sa"], subresources: { token: { kind: "TokenRequest", verbs: ["create"] } } },
  { group: "", version: "v1", plural: "configmaps", singular: "configmap", kind: "ConfigMap", namespaced: true, verbs: RW, shortNames: ["cm"] },
  { group: "apps", version: "v1", plural: "deployments", singular: "deployment", kind: "Deployment", namespaced: true, verbs: RW, shortNames: ["deploy"], categories: ["all"], subresources: { status: { kind: "Deployment", verbs: ["get", "patch", "update"] } } },
  { group: "apps", version: "v1", plural: "replicasets", singular: "replicaset", kind: "ReplicaSet", namespaced: true, verbs: RW, shortNames: ["rs"], categories: ["all"], subresources: { status: { kind: "ReplicaSet", verbs: ["get", "patch", "update"] } } },
  { group: "apps", version: "v1", plural: "statefulsets", singular: "statefulset", kind: "StatefulSet", namespaced: true, verbs: RW, shortNames: ["sts"], categories: ["all"], subresources: { status: { kind: "StatefulSet", verbs: ["get", "patch", "update"] } } },
  { group: "apps", version: "v1", plural: "daemonsets", singular: "daemonset", kind: "DaemonSet", namespaced: true, verbs: RW, shortNames: ["ds"], categories: ["all"], subresources: { status: { kind: "DaemonSet", verbs: ["get", "patch", "update"] } } },
  { group: "discovery.k8s.io", version: "v1", plural: "endpointslices", singular: "endpointslice", kind: "EndpointSlice", namespaced: true, verbs: RW },
  { group: "policy", version: "v1", plural: "poddisruptionbudgets", singular: "poddisruptionbudget", kind: "PodDisruptionBudget", namespaced: true, verbs: RW, shortNames: ["pdb"] },
  { group: "coordination.k8s.io", version: "v1", plural: "leases", singular: "lease", kind: "Lease", namespaced: true, verbs: RW },
  // Stored RBAC: a ClusterRoleBinding's subjects get its ClusterRole's rules on top of the policy (rbac.ts boundRules).
  { group: "rbac.authorization.k8s.io", version: "v1", plural: "clusterroles", singular: "clusterrole", kind: "ClusterRole", namespaced: false, verbs: RW },
  { group: "rbac.authorization.k8s.io", version: "v1", plural: "clusterrolebindings", singular: "clusterrolebinding", kind: "ClusterRoleBinding", namespaced: false, verbs: RW },
  // Questions, not objects: answered from RBAC and never stored (reviews.ts).
  { group: "authorization.k8s.io", version: "v1", plural: "selfsubjectaccessreviews", singular: "selfsubjectaccessreview", kind: "SelfSubjectAccessReview", namespaced: false, verbs: ["create"] },
  { group: "authorization.k8s.io", version: "v1", plural: "selfsubjectrulesreviews", singular: "selfsubjectrulesreview", kind: "SelfSubjectRulesReview", namespaced: false, verbs: ["create"] },
  { group: "authentication.k8s.io", version: "v1", plural: "selfsubjectreviews", singular: "selfsubjectreview", kind: "SelfSubjectReview", namespaced: false, verbs: ["create"] },
];

export function groupVersion(r: Pick<ResourceInfo, "group" | "version">): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

export function findResource(group: string, version: string, plural: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.plural === plural);
}

/** `deployments.apps`, or `pods` for the core group: how Status messages name a resource. */
export function qualifiedName(r: Pick<ResourceInfo, "group" | "plural">): string {
  return r.group ? `${r.plural}.${r.group}` : r.plural;
}

/** GET /api → APIVersions. */
export function apiVersions(serverAddress: string): object {
  return { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }] };
}

/** GET /apis → APIGroupList (legacy discovery; kubectl falls back to it when the aggregated form isn't offered). */
export function apiGroupList(): object {
  const groups = [...new Set(RESOURCES.filter((r) => r.group).map((r) => r.group))];
  return {
    kind: "APIGroupList",
    apiVersion: "v1",
    groups: groups.map((g) => {
      const versions = [...new Set(RESOURCES.filter((r) => r.group === g).map((r) => r.version))];
      const gv = versions.map((v) => ({ groupVersion: `${g}/${v}`, version: v }));
      return { name: g, versions: gv, preferredVersion: gv[0] };
    }),
  };
}

export function apiGroup(group: string): object | undefined {
  const versions = [...new Set(RESOURCES.filter((r) => r.group === group).map((r) => r.version))];
  if (!group || versions.length === 0) return undefined;
  const gv = versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
  return { kind: "APIGroup", apiVersion: "v1", name: group, versions: gv, preferredVersion: gv[0] };
}

/** GET /api/v1, /apis/apps/v1 → APIResourceList. */
export function apiResourceList(group: string, version: string): object | undefined {
  const rs = RESOURCES.filter((r) => r.group === group && r.version === version);
  if (rs.length === 0) return undefined;
  const resources: object[] = [];
  for (const r of rs) {
    resources.push({
      name: r.plural, singularName: r.singular, namespaced: r.namespaced, kind: r.kind, verbs: r.verbs,
      ...(r.shortNames ? { shortNames: r.shortNames } : {}),
      ...(r.categories ? { categories: r.categories } : {}),
      storageVersionHash: Buffer.from(`${r.group}/${r.version}/${r.kind}`).toString("base64").slice(0, 11),
    });
    for (const [sub, s] of Object.entries(r.subresources ?? {})) {
      resources.push({ name: `${r.plural}/${sub}`, singularName: "", namespaced: r.namespaced, kind: sub === "log" ? "Pod" : s.kind, verbs: s.verbs });
    }
  }
  return { kind: "APIResourceList", apiVersion: "v1", groupVersion: groupVersion({ group, version }), resources };
}
