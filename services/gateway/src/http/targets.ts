/**
 * In-cluster HTTP targets (Prometheus, Grafana, Loki, ...) through the tunnel:
 *
 *   GET /v1/clusters/:id/targets/:name/<path>?<query>
 *
 * e.g. /v1/clusters/c1/targets/prometheus/api/v1/query?query=up answers with
 * exactly what the in-cluster Prometheus answered (status, content type and
 * body unchanged). The edge decides which targets exist and which paths they
 * expose (EDGE_HTTP_TARGETS, edge/src/proxy/targets.ts): a target it does not
 * know, or a path outside its prefixes, is 403 with the edge's reason. Every
 * call is one audit row (resource = the target name), like any Kubernetes
 * call. Read-only (GET/HEAD), any role. Errors before an answer are
 * problem+json; the target's own errors pass through as it sent them.
 * Register with `app.register(targetsPlugin, { auth, nc, natsPrefix, logger })`.
 */
import { Readable } from "node:stream";
import type { FastifyInstance } from "fastify";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "@daalu/runtime";
import { proxyCall } from "@daalu/tunnel-proxy";
import type { Authenticator } from "../auth.js";
import { BadRequestError } from "../errors.js";
import { authenticate, inSpan } from "./route-kit.js";

export const DEFAULT_TARGET_TIMEOUT_MS = 30_000;
/** Request headers forwarded to a target (the edge filters again). Never Authorization. */
const FORWARD = ["accept", "accept-encoding"] as const;
const PASS_BACK = new Set(["content-type", "content-encoding", "cache-control", "etag", "last-modified"]);

export interface TargetsOptions {
  auth: Authenticator;
  nc: NatsConnection;
  /** NATS subject prefix (not `prefix`: Fastify's register() takes that as a route prefix). */
  natsPrefix: string;
  timeoutMs?: number;
  logger: Logger;
}

export const targetParams = {
  type: "object",
  additionalProperties: false,
  required: ["id", "name", "*"],
  properties: {
    id: { type: "string", minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9_-]+$" },
    name: { type: "string", minLength: 1, maxLength: 63, pattern: "^[a-z][a-z0-9-]*$", description: "a target registered on the cluster's edge, e.g. prometheus" },
    "*": { type: "string", maxLength: 4096 },
  },
} as const;

export async function targetsPlugin(app: FastifyInstance, opts: TargetsOptions): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TARGET_TIMEOUT_MS;
  app.get<{ Params: { id: string; name: string; "*": string } }>("/v1/clusters/:id/targets/:name/*", { schema: { params: targetParams } }, (req, reply) =>
    inSpan(req, async () => {
      const p = await authenticate(opts.auth, req);
      const { id, name } = req.params;
      if (name === "kubernetes") throw new BadRequestError("the Kubernetes API is served at /k8s/clusters/{id}/", "NOT_AN_HTTP_TARGET");
      // The raw URL keeps the query string and the path's encoding exactly as the caller sent them.
      const base = `/v1/clusters/${id}/targets/${name}`;
      const raw = req.raw.url ?? "";
      const path = raw.startsWith(base) ? raw.slice(base.length) || "/" : `/${req.params["*"]}`;
      const headers: { name: string; value: string }[] = [];
      for (const n of FORWARD) {
        const v = req.headers[n];
        if (typeof v === "string") headers.push({ name: n, value: v });
      }
      const ac = new AbortController();
      const onClose = () => ac.abort();
      req.raw.once("close", onClose);
      const a = await proxyCall(opts.nc, { target: name, method: req.method, path, headers }, { prefix: opts.natsPrefix, tenantId: p.tenantId, clusterId: id, caller: p.caller, timeoutMs, signal: ac.signal });
      req.raw.off("close", onClose);
      reply.code(a.status);
      for (const h of a.headers) if (PASS_BACK.has(h.name.toLowerCase())) reply.header(h.name, h.value);
      if (a.complete) {
        const parts: Buffer[] = [];
        for await (const c of a.body) parts.push(Buffer.from(c.buffer, c.byteOffset, c.length));
        return reply.send(Buffer.concat(parts));
      }
      // Larger than the hub's unary buffer: stream it; a client that leaves destroys
      // the Readable, which returns the iterator and cancels the call.
      return reply.send(Readable.from(a.body, { objectMode: false }));
    }),
  );
}
