/**
 * What the edge lets through its Session RPC (upgraded connections: exec,
 * attach, port-forward). Pure: no I/O. Exactly these three pod subresources
 * of the Kubernetes API, with GET (WebSocket) or POST (SPDY/3.1), and never a
 * pod of the edge's own namespace (an exec there could read the tunnel key
 * whatever RBAC says). The API server's RBAC decides the rest: the default
 * chart grants none of them, so the API server answers 403 verbatim.
 */
import { normalisePath, splitPath, type KubeStatus } from "./policy.js";

/** The pod subresources a session may reach. */
export const SESSION_SUBRESOURCES = ["exec", "attach", "portforward"] as const;

/** Request headers an upgrade carries upstream (besides REQUEST_HEADER_ALLOWLIST); every value of a repeated header is kept. */
export const UPGRADE_REQUEST_HEADERS = new Set(["upgrade", "connection", "sec-websocket-key", "sec-websocket-version", "sec-websocket-protocol", "sec-websocket-extensions", "x-stream-protocol-version"]);

/** Response headers of the API server's 101 passed back to the client. */
export const UPGRADE_RESPONSE_HEADERS = new Set(["upgrade", "connection", "sec-websocket-accept", "sec-websocket-protocol", "sec-websocket-extensions", "x-stream-protocol-version"]);

export type SessionDecision = { ok: true; subresource: (typeof SESSION_SUBRESOURCES)[number] } | { ok: false; reason: string; status?: KubeStatus };

function forbidden(message: string): KubeStatus {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason: "Forbidden", details: { kind: "pods" }, code: 403 };
}

/** Decides whether an upgrade request may go to the API server. */
export function allowSession(req: { target: string; method: string; path: string }, ownNamespace: string): SessionDecision {
  if (req.target !== "kubernetes") return { ok: false, reason: `sessions reach the Kubernetes API only, not target "${req.target}"` };
  const method = req.method.toUpperCase();
  if (method !== "GET" && method !== "POST") return { ok: false, reason: `method ${method} cannot open a session (GET or POST)` };
  const sp = splitPath(req.path);
  const segs = sp && normalisePath(sp.path);
  if (!segs) return { ok: false, reason: "the path is not a plain absolute path" };
  // api / v1 / namespaces / <ns> / pods / <name> / <subresource>
  const [api, v1, namespaces, ns, pods, name, sub] = segs;
  const shape = segs.length === 7 && api === "api" && v1 === "v1" && namespaces === "namespaces" && pods === "pods" && !!ns && !!name;
  const subresource = SESSION_SUBRESOURCES.find((s) => s === sub);
  if (!shape || !subresource) return { ok: false, reason: `path ${sp.path} is not a pod's exec, attach or portforward` };
  if (ns === ownNamespace.toLowerCase()) {
    const status = forbidden(`pods "${name}" is forbidden: the Daalu edge never opens ${subresource} sessions into its own namespace "${ownNamespace}" (its pods hold the WireGuard private key), whatever RBAC allows`);
    return { ok: false, reason: status.message, status };
  }
  return { ok: true, subresource };
}

/** Keeps the headers an upgrade may carry, every value of each (names lower-cased; values with CR/LF dropped). */
export function upgradeHeaders(headers: Iterable<{ name: string; value: string }>, allow: ReadonlySet<string>, also: ReadonlySet<string>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const h of headers) {
    const n = h.name.toLowerCase();
    if ((allow.has(n) || also.has(n)) && !/[\r\n]/.test(h.value)) (out[n] ??= []).push(h.value);
  }
  return out;
}
