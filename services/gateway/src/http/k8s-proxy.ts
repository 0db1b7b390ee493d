/**
 * The Kubernetes-API-compatible endpoint per cluster and the kubeconfig that
 * points kubectl at it.
 *
 *   ANY /k8s/clusters/:id/*          -> the cluster's API server, through the tunnel
 *   GET /v1/clusters/:id/kubeconfig  -> a kubeconfig for that endpoint
 *
 * The caller's API token is checked here and never forwarded: the edge calls
 * the API server as its own ServiceAccount. A cluster of another tenant is
 * 404, exactly like a cluster that does not exist. Answers stream with
 * backpressure: the body is a pull stream (tunnel-proxy's stream-requester.ts)
 * piped into the socket, so a client that reads slowly stops the acks, the
 * tunnel-proxy, the edge and the API server in turn; a client that hangs up
 * cancels the call down to the API server (pinned by test/k8s-kubectl.test.ts
 * "logs -f cancelled").
 *
 * Errors on /k8s answer as a Kubernetes `Status` (not problem+json) because
 * kubectl prints a Status' message verbatim and nothing else usefully; the
 * Daalu reason travels in details.causes[0].reason and the Daalu-Error-Reason
 * header (e.g. 503 AUDIT_UNAVAILABLE); the app's one error handler picks
 * that form by path (problems.ts), so Fastify's own refusals (body too
 * large, bad URL) answer the same way.
 *
 * Register with `app.register(k8sProxyPlugin, opts)`.
 */
import type { FastifyInstance, FastifyReply } from "fastify";
import type { NatsConnection } from "@nats-io/transport-node";
import { DaaluError, TtlCache, type Logger } from "@daalu/runtime";
import { proxyCall } from "@daalu/tunnel-proxy";
import type { Principal } from "../auth.js";
import { inSpan, principalOf } from "./route-kit.js";
import type { PeeringClient } from "@daalu/peering";

/** Request headers the gateway forwards (the edge filters again). Never Authorization. */
export const K8S_FORWARD_HEADERS = ["accept", "accept-encoding", "content-type", "user-agent", "kubectl-command", "kubectl-session"] as const;
/** Hop-independent response headers passed back. */
const PASS_BACK = new Set(["content-type", "content-encoding", "cache-control", "audit-id", "warning", "etag", "last-modified", "x-kubernetes-pf-flowschema-uid", "x-kubernetes-pf-prioritylevel-uid"]);
export const DEFAULT_K8S_HEAD_TIMEOUT_MS = 30_000;
/** A cluster found in the caller's tenant is trusted this long (a deleted cluster stops working within it). */
export const DEFAULT_K8S_CLUSTER_CACHE_MS = 5_000;
export const DEFAULT_K8S_BODY_LIMIT = 3 * 1024 * 1024;

export interface K8sProxyOptions {
  peering: PeeringClient;
  nc: NatsConnection;
  /** NATS subject prefix (not `prefix`: Fastify's register() takes that as a route prefix). */
  natsPrefix: string;
  /** Where operators reach the gateway (the kubeconfig's server). */
  publicUrl: string;
  /** PEM CA of the gateway's serving certificate, embedded in kubeconfigs when set. */
  caPem?: string;
  headTimeoutMs?: number;
  clusterCacheMs?: number;
  bodyLimit?: number;
  logger: Logger;
}

function yamlString(s: string): string {
  return JSON.stringify(s);
}

export async function k8sProxyPlugin(app: FastifyInstance, opts: K8sProxyOptions): Promise<void> {
  const log = opts.logger.child({ component: "k8s-proxy" });
  const headTimeout = opts.headTimeoutMs ?? DEFAULT_K8S_HEAD_TIMEOUT_MS;
  const cacheMs = opts.clusterCacheMs ?? DEFAULT_K8S_CLUSTER_CACHE_MS;
  // Single-flight: when a hot cluster's entry expires, one lookup serves every call in flight.
  const known = new TtlCache<true>(cacheMs);

  // Kubernetes bodies are JSON, YAML, protobuf or patches: take them as bytes.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: opts.bodyLimit ?? DEFAULT_K8S_BODY_LIMIT }, (_req, body, done) => done(null, body));

  const requireCluster = async (p: Principal, clusterId: string): Promise<void> => {
    await known.get(`${p.tenantId}/${clusterId}`, async () => {
      // NotFound for another tenant's cluster: peering scopes GetCluster by the call's tenant.
      await opts.peering.getCluster({ clusterId }, { tenantId: p.tenantId, caller: p.caller });
      return true;
    });
  };

  type Id = { Params: { id: string; "*": string } };
  app.route<Id>({
    method: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    url: "/k8s/clusters/:id/*",
    handler: (req, reply) =>
      inSpan(req, async () => {
        const p = principalOf(req);
        const clusterId = req.params.id;
        await requireCluster(p, clusterId);
        const prefix = `/k8s/clusters/${clusterId}`;
        const raw = req.raw.url ?? req.url;
        const path = raw.startsWith(prefix) ? raw.slice(prefix.length) || "/" : `/${req.params["*"]}`;
        const headers: { name: string; value: string }[] = [];
        for (const n of K8S_FORWARD_HEADERS) {
          const v = req.headers[n];
          if (typeof v === "string") headers.push({ name: n, value: v });
        }
        const ac = new AbortController();
        const onClose = () => ac.abort();
        req.raw.once("close", onClose);
        const body = Buffer.isBuffer(req.body) ? req.body : undefined;
        // A GET/HEAD that meets its cluster between hub nodes waits (within the head timeout) for the new home;
        // other methods get 503 CLUSTER_MOVING with Retry-After (tunnel-proxy's moving-retry.ts).
        const answer = await proxyCall(opts.nc, { method: req.method, path, headers, ...(body ? { body } : {}) }, { prefix: opts.natsPrefix, tenantId: p.tenantId, clusterId, caller: p.caller, timeoutMs: headTimeout, signal: ac.signal, retryWhileMoving: true });
        req.raw.off("close", onClose);
        return send(reply, answer);
      }),
  });

  async function send(reply: FastifyReply, a: Awaited<ReturnType<typeof proxyCall>>): Promise<FastifyReply> {
    reply.code(a.status);
    for (const h of a.headers) if (PASS_BACK.has(h.name.toLowerCase())) reply.header(h.name, h.value);
    if (a.complete) {
      const parts: Buffer[] = [];
      for await (const c of a.body) parts.push(Buffer.from(c.buffer, c.byteOffset, c.length));
      return reply.send(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
    }
    // A stream: the head goes out at once (watch clients wait for it before any
    // event), then each chunk is pulled only when the socket took the previous
    // one; a client that hangs up returns the iterator, which cancels the call.
    reply.hijack();
    const res = reply.raw;
    const headers: Record<string, string | string[] | number> = {};
    for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) headers[k] = v as string;
    res.writeHead(a.status, headers);
    res.flushHeaders();
    let clientGone = false;
    let ended = false;
    const gone = new Promise<void>((resolve) => res.once("close", resolve));
    void gone.then(() => {
      clientGone = true;
      // The reader may be parked waiting for the next chunk (a quiet watch): cancel now.
      if (!ended) a.cancel("the client went away");
    });
    try {
      for await (const chunk of a.body) {
        if (clientGone) break;
        if (!res.write(chunk)) await Promise.race([new Promise((r) => res.once("drain", r)), gone]);
        if (clientGone) break;
      }
      ended = true;
      if (!clientGone) res.end();
    } catch (err) {
      ended = true;
      if (clientGone) return reply;
      // The stream failed after the head: the status is out, so cut the body short.
      log.warn({ err: err instanceof DaaluError ? err.reason : String(err) }, "k8s stream ended with an error");
      res.destroy();
    } finally {
      reply.request.span?.setAttribute("http.response.status_code", a.status);
    }
    return reply;
  }

  app.get<{ Params: { id: string }; Querystring: { token?: string } }>(
    "/v1/clusters/:id/kubeconfig",
    { schema: { params: { type: "object", properties: { id: { type: "string", minLength: 1, maxLength: 128 } }, required: ["id"] }, querystring: { type: "object", properties: { token: { type: "string", enum: ["include", "placeholder"] } }, additionalProperties: false } } },
    (req, reply) =>
      inSpan(req, async () => {
        const p = principalOf(req);
        const res = await opts.peering.getCluster({ clusterId: req.params.id }, { tenantId: p.tenantId, caller: p.caller });
        const c = res.cluster!;
        // The token is the caller's own and only echoed when asked for: the
        // default file is safe to paste into a ticket; the user adds the token.
        // A session has no token to include (the cookie is for browsers only): the placeholder then.
        const token = req.query.token === "include" && req.headers.authorization ? req.headers.authorization.replace(/^Bearer\s+/i, "") : "<paste your Daalu API token>";
        const name = `daalu-${c.name || c.id}`;
        const lines = [
          "apiVersion: v1",
          "kind: Config",
          "clusters:",
          `- name: ${yamlString(name)}`,
          "  cluster:",
          `    server: ${yamlString(`${opts.publicUrl}/k8s/clusters/${c.id}`)}`,
          ...(opts.caPem ? [`    certificate-authority-data: ${Buffer.from(opts.caPem).toString("base64")}`] : []),
          "users:",
          `- name: ${yamlString(`${name}-user`)}`,
          "  user:",
          `    token: ${yamlString(token)}`,
          "contexts:",
          `- name: ${yamlString(name)}`,
          "  context:",
          `    cluster: ${yamlString(name)}`,
          `    user: ${yamlString(`${name}-user`)}`,
          `current-context: ${yamlString(name)}`,
          "",
        ];
        return reply.type("application/yaml").header("cache-control", "no-store").header("content-disposition", `attachment; filename="${name.replace(/[^A-Za-z0-9._-]/g, "_")}.kubeconfig"`).send(lines.join("\n"));
      }),
  );
}
