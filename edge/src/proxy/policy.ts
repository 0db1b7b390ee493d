/**
 * What the edge lets through its Proxy RPC. Pure: no I/O. The edge is the last
 * place a hub bug or a compromised hub could widen access, so these checks run
 * here even though the gateway filters too (pinned by policy.test.ts and
 * edge/test/proxy.test.ts "refuses ...").
 */

/** The API server's target name in ProxyRequest.target. */
export const KUBERNETES_TARGET = "kubernetes";

/** Path prefixes of the Kubernetes API the edge forwards; anything else is refused. The health endpoints are read-only: reads only, as everything else. */
export const KUBERNETES_PATH_PREFIXES = ["/api", "/apis", "/version", "/openapi", "/healthz", "/livez", "/readyz"] as const;

/**
 * The only creations the edge forwards: questions about the caller's own
 * access and identity (`kubectl auth can-i`, `auth can-i --list`, `auth
 * whoami`). They change nothing, any signed-in user may ask them
 * (system:basic-user), and the API server answers them for the edge's proxy
 * ServiceAccount, whose access is the hub's. Matched on the normalised path,
 * exactly: no name, no namespace, no subresource.
 */
export const ACCESS_REVIEW_PATHS: readonly string[] = [
  "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
  "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
  "/apis/authentication.k8s.io/v1/selfsubjectreviews",
  // kubectl auth whoami falls back to these on API servers before 1.28.
  "/apis/authentication.k8s.io/v1beta1/selfsubjectreviews",
  "/apis/authentication.k8s.io/v1alpha1/selfsubjectreviews",
];

/** Read-only by default: the product reads clusters, it does not change them. */
export const DEFAULT_ALLOWED_METHODS = ["GET", "HEAD"] as const;

/** Request headers passed upstream. Never Authorization/Cookie/Impersonate-*: the edge speaks as its own ServiceAccount. */
export const REQUEST_HEADER_ALLOWLIST = new Set(["accept", "accept-encoding", "content-type", "user-agent", "kubectl-command", "kubectl-session", "if-none-match", "if-modified-since"]);

/** Response headers passed back to the caller. */
export const RESPONSE_HEADER_ALLOWLIST = new Set(["content-type", "content-encoding", "cache-control", "audit-id", "warning", "etag", "last-modified", "x-kubernetes-pf-flowschema-uid", "x-kubernetes-pf-prioritylevel-uid"]);

/** An in-cluster HTTP service the edge may reach (e.g. prometheus), by name. */
export interface HttpTarget {
  /** Base URL inside the cluster, e.g. http://prometheus.monitoring.svc:9090 */
  url: string;
  /** Path prefixes allowed on this target; default ["/"]. */
  pathPrefixes?: string[];
}

/** A Kubernetes `metav1.Status` failure, as kube-apiserver writes one (kubectl prints `Error from server (Reason): message`). */
export interface KubeStatus {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Failure";
  message: string;
  reason: string;
  details: { name?: string; kind: string };
  code: number;
}

/**
 * ok, or refused: `status` set means the edge answers the call itself with
 * that Kubernetes Status (HTTP `status.code`); otherwise the call fails with
 * gRPC PERMISSION_DENIED and `reason`.
 */
export type Decision = { ok: true } | { ok: false; reason: string; status?: KubeStatus };

/**
 * The path as the API server resolves it, in the most inclusive form:
 * percent-decoded once (as Go's net/url does), empty segments dropped (`//`,
 * trailing `/`), lower-cased, trailing dots cut. Undefined when it does not
 * decode cleanly (bad escapes, a `%` left after decoding = double encoding,
 * whitespace or control characters, backslashes, dot segments): such paths are refused.
 */
export function normalisePath(path: string): string[] | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return undefined;
  }
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point
  if (/[%\s\u0000-\u001f\u007f\\]/.test(decoded)) return undefined;
  const segs = decoded.split("/").filter((s) => s !== "");
  if (segs.some((s) => /^\.+$/.test(s))) return undefined;
  return segs.map((s) => s.toLowerCase().replace(/\.+$/, ""));
}

/**
 * Whether a normalised Kubernetes API path reads Secrets the edge must never
 * serve: any `secrets` segment, unless it directly follows
 * `namespaces/<another namespace>`. So the edge's own namespace (get, list,
 * watch, legacy `/watch/` paths) and every cluster-wide Secret list or watch
 * (`/api/v1/secrets`, which would include its own) are refused. An object
 * that merely is named "secrets" is refused too: a harmless false positive.
 */
export function readsOwnSecrets(segs: readonly string[], ownNamespace: string): boolean {
  const own = ownNamespace.toLowerCase();
  if (segs.includes("secrets") && segs.some((s, i) => s === own && segs[i - 1] === "namespaces")) return true;
  return segs.some((s, i) => s === "secrets" && !(i >= 2 && segs[i - 2] === "namespaces" && segs[i - 1] !== own));
}

function failure(code: number, reason: string, message: string, details: KubeStatus["details"]): KubeStatus {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, details, code };
}

/** The Status the edge answers a read of its own Secrets with (403 Forbidden, whatever RBAC says). */
export function ownSecretsForbidden(segs: readonly string[], ownNamespace: string): KubeStatus {
  const at = segs.lastIndexOf("secrets");
  const name = at >= 0 ? segs[at + 1] : undefined;
  const message =
    `secrets${name ? ` "${name}"` : ""} is forbidden: the Daalu edge never serves the Secrets of its own namespace "${ownNamespace}" ` +
    `(they hold its WireGuard private key), nor cluster-wide Secret lists or watches, whatever RBAC allows`;
  return failure(403, "Forbidden", message, { ...(name ? { name } : {}), kind: "secrets" });
}

/** Whether a call is one of the access reviews the edge lets through whatever the method rule (POST on ACCESS_REVIEW_PATHS). */
export function isAccessReview(method: string, path: string): boolean {
  if (method.toUpperCase() !== "POST") return false;
  const sp = splitPath(path);
  const segs = sp && normalisePath(sp.path);
  return !!segs && ACCESS_REVIEW_PATHS.includes(`/${segs.join("/")}`);
}

/**
 * The Status a refused write is answered with: what was refused, why, and
 * what to do instead, in words a person acts on (kubectl prints the message).
 */
export function readOnlyRefusal(method: string, path: string, allowed: readonly string[]): KubeStatus {
  const message =
    `the Daalu hub is read-only for this cluster and refused ${method} ${path}: through the hub you can read (${allowed.join(", ")}) ` +
    "and ask what you may do (kubectl auth can-i, kubectl auth whoami), nothing that changes the cluster; " +
    "to change it, use a kubeconfig of the cluster itself";
  return failure(405, "MethodNotAllowed", message, { kind: "" });
}

/** Splits "/a/b?x=1" into path and query, rejecting anything that could escape the prefix check. */
export function splitPath(raw: string): { path: string; query: string } | undefined {
  if (!raw.startsWith("/") || raw.startsWith("//")) return undefined;
  const q = raw.indexOf("?");
  const path = q < 0 ? raw : raw.slice(0, q);
  const query = q < 0 ? "" : raw.slice(q + 1);
  // Refuse dot segments, encoded slashes/dots and control characters: the prefix
  // check must hold for the path the upstream server resolves, not just the string.
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point
  if (/[\u0000-\u001f\u007f#\\]/.test(raw)) return undefined;
  if (/%2e|%2f|%5c|%00/i.test(path)) return undefined;
  if (path.split("/").some((s) => s === "." || s === "..")) return undefined;
  return { path, query };
}

function underPrefix(path: string, prefix: string): boolean {
  if (prefix === "/") return true;
  return path === prefix || path.startsWith(prefix.endsWith("/") ? prefix : `${prefix}/`);
}

/** What allowRequest decides by. */
export interface PolicyOptions {
  methods: readonly string[];
  targets: Readonly<Record<string, HttpTarget>>;
  /** The edge's own namespace: its Secrets (the tunnel key) are never served. */
  ownNamespace: string;
}

/** Decides whether a request may go upstream. */
export function allowRequest(req: { target: string; method: string; path: string }, opts: PolicyOptions): Decision {
  const method = req.method.toUpperCase();
  if (req.target === KUBERNETES_TARGET && isAccessReview(method, req.path)) return { ok: true };
  if (!opts.methods.includes(method)) {
    const sp = splitPath(req.path);
    if (req.target !== KUBERNETES_TARGET || !sp) return { ok: false, reason: `method ${method} is not allowed through the tunnel (allowed: ${opts.methods.join(", ")})` };
    const status = readOnlyRefusal(method, sp.path, opts.methods);
    return { ok: false, reason: status.message, status };
  }
  const sp = splitPath(req.path);
  if (!sp) return { ok: false, reason: "the path is not a plain absolute path" };
  if (req.target === KUBERNETES_TARGET) {
    if (!KUBERNETES_PATH_PREFIXES.some((p) => underPrefix(sp.path, p))) return { ok: false, reason: `path ${sp.path} is not part of the Kubernetes API` };
    // Decided on the normalised form, so no spelling of the path (%73ecrets, //, case, dots) gets past it.
    const segs = normalisePath(sp.path);
    if (!segs) return { ok: false, reason: "the path does not normalise cleanly" };
    if (readsOwnSecrets(segs, opts.ownNamespace)) {
      const status = ownSecretsForbidden(segs, opts.ownNamespace);
      return { ok: false, reason: status.message, status };
    }
    return { ok: true };
  }
  const t = Object.hasOwn(opts.targets, req.target) ? opts.targets[req.target] : undefined;
  if (!t) return { ok: false, reason: `target "${req.target}" is not registered on this edge` };
  if (!(t.pathPrefixes ?? ["/"]).some((p) => underPrefix(sp.path, p))) return { ok: false, reason: `path ${sp.path} is not allowed on target "${req.target}"` };
  return { ok: true };
}

/** Keeps allowlisted headers only (lower-cased names, first value wins). */
export function filterHeaders(headers: Iterable<{ name: string; value: string }>, allow: ReadonlySet<string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of headers) {
    const n = h.name.toLowerCase();
    if (allow.has(n) && !(n in out) && !/[\r\n]/.test(h.value)) out[n] = h.value;
  }
  return out;
}

/** Characters splitPath refuses anywhere in the raw path, the query included. */
// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const REFUSED_ANYWHERE = /[\u0000-\u001f\u007f#\\]/;
const DECISIONS_KEPT = 1024;
const LONGEST_KEPT_PATH = 512;

/**
 * allowRequest with its decisions kept per (target, method, path without the
 * query): a pure function of those once the query passed splitPath's
 * character check, which is the only part of allowRequest that reads the
 * query (pinned by policy.test.ts). A query that fails it, and long paths,
 * are decided afresh every time. At most DECISIONS_KEPT decisions are kept
 * (all forgotten when full): kubectl's calls repeat a few paths with changing
 * queries (limit, continue, resourceVersion), so the path rules run once per path.
 */
export class PolicyCache {
  private readonly decisions = new Map<string, Decision>();

  constructor(readonly opts: PolicyOptions) {}

  decide(req: { target: string; method: string; path: string }): Decision {
    const raw = req.path;
    const q = raw.indexOf("?");
    const path = q < 0 ? raw : raw.slice(0, q);
    if (path.length > LONGEST_KEPT_PATH || (q >= 0 && REFUSED_ANYWHERE.test(raw.slice(q)))) return allowRequest(req, this.opts);
    // Lengths first: no target or method, whatever its characters, makes another's key.
    const key = `${req.target.length}:${req.method.length}:${req.target}${req.method}${path}`;
    let d = this.decisions.get(key);
    if (d === undefined) {
      d = allowRequest({ target: req.target, method: req.method, path }, this.opts);
      if (this.decisions.size >= DECISIONS_KEPT) this.decisions.clear();
      this.decisions.set(key, d);
    }
    return d;
  }
}
