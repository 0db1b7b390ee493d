/**
 * Bearer-token authentication and an RBAC-shaped authorizer: each user has
 * rules like a (Cluster)Role's, optionally limited to namespaces the way a
 * RoleBinding limits them, plus the rules of every stored ClusterRole that a
 * stored ClusterRoleBinding binds them to (written through the API, as
 * `kubectl apply` of a ClusterRole does on a real cluster).
 */
import type { ObjectStore } from "./store.js";
export interface KubeUser {
  name: string;
  groups?: string[];
}

export interface PolicyRule {
  verbs: string[];
  /** API groups ("" = core). Omitted: any group. */
  apiGroups?: string[];
  /** Plural resources, `pods/log` for a subresource, `*` for all. Empty in a non-resource rule. */
  resources: string[];
  /** Non-resource URLs (`/healthz`, `/api/*`): a rule with these grants them, not resources. */
  nonResourceURLs?: string[];
  resourceNames?: string[];
  /** Namespaces the rule applies in (a RoleBinding). Omitted: everywhere, cluster scope included (a ClusterRoleBinding). */
  namespaces?: string[];
}

/** user name → rules. */
export type RbacPolicy = Record<string, PolicyRule[]>;

export interface RequestAttributes {
  user: KubeUser;
  verb: string;
  group: string;
  plural: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

export const EDGE_NAMESPACE = "daalu-edge";
/** The tunnel Secret the bootstrap Job writes and the edge reads (its WireGuard private key). */
export const EDGE_TUNNEL_SECRET = "daalu-edge-tunnel";
/** The ConfigMap with the tunnel's public configuration, written by the bootstrap Job beside the Secret. */
export const EDGE_TUNNEL_CONFIGMAP = "daalu-edge-tunnel-public";
/** The edge pod's own ServiceAccount: reads its tunnel Secret and mints tokens of the proxy account, nothing else. */
export const EDGE_USER = `system:serviceaccount:${EDGE_NAMESPACE}:daalu-edge`;
/** The ServiceAccount proxied calls run as: the read-only ClusterRole, no Secrets. */
export const EDGE_PROXY_SERVICE_ACCOUNT = "daalu-edge-proxy";
export const EDGE_PROXY_USER = `system:serviceaccount:${EDGE_NAMESPACE}:${EDGE_PROXY_SERVICE_ACCOUNT}`;
/** The bootstrap Job's service account. */
export const BOOTSTRAP_USER = `system:serviceaccount:${EDGE_NAMESPACE}:daalu-edge-bootstrap`;
/** A cluster admin (group system:masters bypasses RBAC, as on a real server). */
export const ADMIN_USER = "kubernetes-admin";

/** The user a ServiceAccount's token authenticates as, with the groups kube-apiserver gives it. */
export function serviceAccountUser(namespace: string, name: string): KubeUser {
  return { name: `system:serviceaccount:${namespace}:${name}`, groups: ["system:serviceaccounts", `system:serviceaccounts:${namespace}`, "system:authenticated"] };
}

/** Default bearer tokens → users. Test-only values, not secrets. */
export const DEFAULT_TOKENS: Readonly<Record<string, KubeUser>> = {
  "edge-token": serviceAccountUser(EDGE_NAMESPACE, "daalu-edge"),
  "edge-proxy-token": serviceAccountUser(EDGE_NAMESPACE, EDGE_PROXY_SERVICE_ACCOUNT),
  "bootstrap-token": serviceAccountUser(EDGE_NAMESPACE, "daalu-edge-bootstrap"),
  "admin-token": { name: ADMIN_USER, groups: ["system:masters", "system:authenticated"] },
};

/**
 * The chart's RBAC (deploy/daalu-edge/templates/rbac-*.yaml): the proxy account
 * has the read-only ClusterRole (no Secrets), the pod's own account gets its one
 * tunnel Secret and tokens of the proxy account, the bootstrap Job writes
 * Secrets in daalu-edge and the tunnel's public ConfigMap.
 */
export function defaultPolicy(): RbacPolicy {
  return {
    [EDGE_PROXY_USER]: [
      { apiGroups: [""], resources: ["pods", "services", "events", "nodes", "namespaces"], verbs: ["get", "list", "watch"] },
      { apiGroups: ["apps"], resources: ["deployments", "statefulsets", "daemonsets", "replicasets"], verbs: ["get", "list", "watch"] },
      { apiGroups: [""], resources: ["pods/log"], verbs: ["get"] },
    ],
    [EDGE_USER]: [
      { apiGroups: [""], resources: ["secrets"], resourceNames: [EDGE_TUNNEL_SECRET], verbs: ["get"], namespaces: [EDGE_NAMESPACE] },
      { apiGroups: [""], resources: ["serviceaccounts/token"], resourceNames: [EDGE_PROXY_SERVICE_ACCOUNT], verbs: ["create"], namespaces: [EDGE_NAMESPACE] },
    ],
    [BOOTSTRAP_USER]: [
      { apiGroups: [""], resources: ["secrets"], verbs: ["create", "get", "update"], namespaces: [EDGE_NAMESPACE] },
      { apiGroups: [""], resources: ["configmaps"], verbs: ["create"], namespaces: [EDGE_NAMESPACE] },
      { apiGroups: [""], resources: ["configmaps"], resourceNames: [EDGE_TUNNEL_CONFIGMAP], verbs: ["get", "update"], namespaces: [EDGE_NAMESPACE] },
    ],
  };
}

/**
 * The bootstrap roles every authenticated user holds on a real cluster
 * (kube-apiserver's bootstrappolicy, bound to group system:authenticated):
 * system:basic-user (ask about its own access and identity), system:discovery
 * and system:public-info-viewer (discovery, version, health). They are kept
 * apart from the policy, as setRbac replaces the policy, not these.
 */
export const AUTHENTICATED_GROUP_RULES: readonly PolicyRule[] = [
  { apiGroups: ["authorization.k8s.io"], resources: ["selfsubjectaccessreviews", "selfsubjectrulesreviews"], verbs: ["create"] },
  { apiGroups: ["authentication.k8s.io"], resources: ["selfsubjectreviews"], verbs: ["create"] },
  { resources: [], nonResourceURLs: ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz", "/version", "/version/"], verbs: ["get"] },
];

type StoredRule = { verbs?: string[]; apiGroups?: string[]; resources?: string[]; resourceNames?: string[]; nonResourceURLs?: string[] };
type Subject = { kind?: string; name?: string; namespace?: string };

function subjectIs(s: Subject, user: KubeUser): boolean {
  if (s.kind === "ServiceAccount") return user.name === `system:serviceaccount:${s.namespace}:${s.name}`;
  if (s.kind === "User") return user.name === s.name;
  if (s.kind === "Group") return user.groups?.includes(s.name ?? "") ?? false;
  return false;
}

/** The rules of the stored ClusterRoles that stored ClusterRoleBindings bind `user` to (a missing role binds nothing). */
export function boundRules(store: ObjectStore, user: KubeUser): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const b of store.list("clusterrolebindings", undefined, true)) {
    const ref = b["roleRef"] as { kind?: string; name?: string } | undefined;
    if (ref?.kind !== "ClusterRole" || !((b["subjects"] ?? []) as Subject[]).some((s) => subjectIs(s, user))) continue;
    const role = store.get("clusterroles", undefined, ref.name ?? "");
    for (const r of (role?.["rules"] ?? []) as StoredRule[]) {
      out.push({
        verbs: r.verbs ?? [],
        apiGroups: r.apiGroups ?? [],
        resources: r.resources ?? [],
        ...(r.resourceNames?.length ? { resourceNames: r.resourceNames } : {}),
        ...(r.nonResourceURLs?.length ? { nonResourceURLs: r.nonResourceURLs } : {}),
      });
    }
  }
  return out;
}

/** The policy as it stands for `user`: the configured rules plus what stored bindings give them. */
export function policyFor(policy: RbacPolicy, store: ObjectStore, user: KubeUser): RbacPolicy {
  const bound = boundRules(store, user);
  return bound.length === 0 ? policy : { ...policy, [user.name]: [...(policy[user.name] ?? []), ...bound] };
}

/** A user's rules: their own (policy) and their groups' (bootstrap roles). */
export function rulesOf(policy: RbacPolicy, user: KubeUser): PolicyRule[] {
  const own = policy[user.name] ?? [];
  return user.groups?.includes("system:authenticated") ? [...own, ...AUTHENTICATED_GROUP_RULES] : own;
}

const has = (list: string[] | undefined, v: string) => list === undefined || list.includes("*") || list.includes(v);

export function ruleAllows(rule: PolicyRule, a: RequestAttributes): boolean {
  if (rule.nonResourceURLs) return false;
  if (!has(rule.verbs, a.verb)) return false;
  if (!has(rule.apiGroups, a.group)) return false;
  const resource = a.subresource ? `${a.plural}/${a.subresource}` : a.plural;
  const resOk = rule.resources.includes("*") || rule.resources.includes(resource) || (a.subresource !== undefined && rule.resources.includes(`${a.plural}/*`));
  if (!resOk) return false;
  if (rule.resourceNames && rule.resourceNames.length > 0 && (!a.name || !rule.resourceNames.includes(a.name))) return false;
  if (rule.namespaces && (!a.namespace || !rule.namespaces.includes(a.namespace))) return false;
  return true;
}

export function authorize(policy: RbacPolicy, a: RequestAttributes): boolean {
  if (a.user.groups?.includes("system:masters")) return true;
  return rulesOf(policy, a.user).some((r) => ruleAllows(r, a));
}

/** Whether a user may `verb` a non-resource URL (`/healthz`; a rule's `/api/*` covers what is under /api/). */
export function authorizeNonResource(policy: RbacPolicy, user: KubeUser, verb: string, path: string): boolean {
  if (user.groups?.includes("system:masters")) return true;
  return rulesOf(policy, user).some((r) => has(r.verbs, verb) && (r.nonResourceURLs ?? []).some((u) => u === "*" || u === path || (u.endsWith("*") && path.startsWith(u.slice(0, -1)))));
}
