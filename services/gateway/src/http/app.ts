import Fastify, { type FastifyInstance, type FastifyRequest } from "fastify";
import type { InviteClient } from "@daalu/invite";
import type { PeeringClient } from "@daalu/peering";
import {
  Code,
  context,
  extractTrace,
  SpanKind,
  SpanStatusCode,
  trace,
  tracer,
  type Context,
  type Logger,
  type Span,
} from "@daalu/runtime";
import type { Authenticator, Principal } from "../auth.js";
import { TokenBuckets } from "../domain/rate-limit.js";
import { BadRequestError, RateLimitedError, RouteNotFoundError } from "../errors.js";
import { clientErrorHandler, frameworkErrors, sendError, toDaalu } from "./problems.js";
import { accessHook, ADMIN, inSpan, principalOf, PUBLIC } from "./route-kit.js";
import { openapi } from "../openapi.js";
import { securityHeaders } from "./security-headers.js";
import { misdirectedKubectl } from "./misdirected-kubectl.js";
import { bootstrapJson, clusterJson, inviteJson, subnetJson } from "./json.js";
import { bootstrapBody, createClusterBody, idParam, listInvitesQuery, setSubnetBody } from "./schemas.js";
import { BOOTSTRAP_BODY_LIMIT } from "../config.js";


export interface AppDeps {
  /** Serve HTTPS with this key and certificate (PEM). */
  https?: { key: Buffer; cert: Buffer };
  invite: InviteClient;
  peering: PeeringClient;
  auth: Authenticator;
  logger: Logger;
  /** Readiness: throws when NATS or the database is not usable. */
  ready(): Promise<void>;
  bodyLimit: number;
  bootstrapRate: number;
  bootstrapBurst: number;
  /** The live events stream's newest sequence (events.ts eventsCursor): GET /v1/clusters says how new its list is. */
  eventsSeq?: () => Promise<number>;
}

/** Every registered route, "METHOD /path" with OpenAPI-style `{param}`s (for the OpenAPI test). */
export type RouteList = string[];

declare module "fastify" {
  interface FastifyRequest {
    span?: Span;
    traceCtx?: Context;
    principal?: Principal;
  }
}

/**
 * Builds the gateway's HTTP app: authentication, tenant resolution, HTTP shape
 * validation, forwarding over NATS and error mapping — no business rules.
 */
export function buildApp(deps: AppDeps): { app: FastifyInstance; routes: RouteList } {
  const log = deps.logger.child({ component: "http" });
  const app = Fastify({
    ...(deps.https ? { https: deps.https } : {}),
    // Our own request log below never includes bodies or headers (tokens).
    logger: false,
    bodyLimit: deps.bodyLimit,
    trustProxy: false,
    return503OnClosing: true,
    // Every refusal in our format: router errors (%zz) and bytes node's parser rejects (bare CR, NUL).
    frameworkErrors,
    clientErrorHandler,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false, useDefaults: false } },
  });
  const routes: RouteList = [];
  app.addHook("onRoute", (r) => {
    for (const m of Array.isArray(r.method) ? r.method : [r.method]) {
      if (m === "HEAD") continue;
      routes.push(`${m} ${r.url.replace(/:([A-Za-z]+)/g, "{$1}")}`);
    }
  });

  // Only JSON bodies; an empty JSON body counts as no body (POST .../revoke from fetch()).
  const defaultJson = app.getDefaultJsonParser("error", "error");
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "string" }, (req, body, done) => {
    if (body === "" || (typeof body === "string" && body.trim() === "")) return done(null, undefined);
    void defaultJson(req, body as string, done);
  });

  // One SERVER span per request, continuing an incoming traceparent.
  app.addHook("onRequest", async (req, reply) => {
    const parent = extractTrace({
      get: (k) => {
        const v = req.headers[k.toLowerCase()];
        return Array.isArray(v) ? v[0] : v;
      },
      set: () => undefined,
      keys: () => Object.keys(req.headers),
    }, context.active());
    const span = tracer().startSpan(`HTTP ${req.method}`, { kind: SpanKind.SERVER, attributes: { "http.request.method": req.method, "url.path": req.url.split("?")[0]! } }, parent);
    req.span = span;
    req.traceCtx = trace.setSpan(parent, span);
    reply.header("x-trace-id", span.spanContext().traceId);
  });
  app.addHook("onResponse", async (req, reply) => {
    const span = req.span;
    if (span) {
      const route = req.routeOptions.url;
      if (route) span.updateName(`${req.method} ${route}`);
      span.setAttribute("http.response.status_code", reply.statusCode);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
    log.debug({ method: req.method, route: req.routeOptions.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, "request");
  });

  // One error handler for every route, plugins included: problem+json, or a Kubernetes Status under /k8s/.
  app.setErrorHandler((err, req, reply) => {
    const de = toDaalu(err);
    if (de.code === Code.Internal || de.code === Code.Unknown) log.error({ err: de.cause ?? err, method: req.method, route: req.routeOptions.url }, "request failed");
    else if (de.httpStatus >= 500) log.warn({ err: de.cause ?? de.message, reason: de.reason, method: req.method, route: req.routeOptions.url }, "request failed");
    return sendError(req, reply, de);
  });
  app.setNotFoundHandler((req, reply) => sendError(req, reply, new RouteNotFoundError(req.method, req.url)));
  // A cluster's API path on the hub's root (older kubectl's `get --raw`): a Status with the fix, before any auth.
  app.addHook("onRequest", misdirectedKubectl);
  // Who may call: token and role, before any body is read or any input validated (route-kit.ts).
  app.addHook("onRequest", accessHook(deps.auth));
  app.addHook("onSend", securityHeaders);

  const call = (p: Principal) => ({ tenantId: p.tenantId, caller: p.caller });
  type Id = { Params: { id: string } };
  // Action routes take no body; an empty one or `{}` is fine, anything else is refused.
  const noBody = async (req: FastifyRequest) => {
    const b = req.body as unknown;
    if (b === undefined || b === null) return;
    if (typeof b !== "object" || Array.isArray(b) || Object.keys(b).length > 0) throw new BadRequestError("this action takes no request body");
  };

  app.get("/healthz", { config: PUBLIC }, async () => ({ status: "ok" }));
  app.get("/readyz", { config: PUBLIC }, async (req, reply) => {
    await deps.ready();
    return reply.send({ status: "ready" });
  });
  app.get("/openapi.json", { config: PUBLIC }, async () => openapi);
  app.post<{ Body: { name: string; subnet?: string } }>("/v1/clusters", { config: ADMIN, schema: { body: createClusterBody } }, async (req, reply) =>
    inSpan(req, async () => {
      const p = principalOf(req);
      const res = await deps.invite.createInvite({ clusterName: req.body.name, subnet: req.body.subnet ?? "" }, call(p));
      const got = await deps.peering.getCluster({ clusterId: res.invite?.clusterId ?? "" }, call(p));
      return reply.code(201).send({ cluster: clusterJson(got.cluster), invite: inviteJson(res.invite), token: res.token, helmCommand: res.helmCommand });
    }),
  );
  app.get("/v1/clusters", async (req) =>
    inSpan(req, async () => {
      const p = principalOf(req);
      // Read first: every event up to `seq` is in the list (a live view resumes its stream after it).
      // Without the stream (NATS trouble) the list still answers, without `seq`.
      const seq = await deps.eventsSeq?.().catch((err: unknown) => log.warn({ err }, "events stream sequence unavailable"));
      const res = await deps.peering.listClusters({}, call(p));
      return { clusters: res.clusters.map(clusterJson), ...(typeof seq === "number" ? { seq } : {}) };
    }),
  );
  app.get<Id>("/v1/clusters/:id", { schema: { params: idParam } }, async (req) =>
    inSpan(req, async () => {
      const p = principalOf(req);
      const res = await deps.peering.getCluster({ clusterId: req.params.id }, call(p));
      return { cluster: clusterJson(res.cluster) };
    }),
  );
  app.delete<Id>("/v1/clusters/:id", { config: ADMIN, schema: { params: idParam } }, async (req) =>
    inSpan(req, async () => {
      const p = principalOf(req);
      const res = await deps.peering.deleteCluster({ clusterId: req.params.id }, call(p));
      return { cluster: clusterJson(res.cluster) };
    }),
  );
  app.post<Id>("/v1/clusters/:id/invites", { config: ADMIN, schema: { params: idParam }, preValidation: noBody }, async (req, reply) =>
    inSpan(req, async () => {
      const p = principalOf(req);
      const res = await deps.invite.createInvite({ clusterId: req.params.id }, call(p));
      return reply.code(201).send({ invite: inviteJson(res.invite), token: res.token, helmCommand: res.helmCommand });
    }),
  );
  app.get<{ Querystring: { clusterId?: string } }>("/v1/invites", { schema: { querystring: listInvitesQuery } }, async (req) =>
    inSpan(req, async () => {
      const p = principalOf(req);
      const res = await deps.invite.listInvites({ clusterId: req.query.clusterId ?? "" }, call(p));
      return { invites: res.invites.map(inviteJson) };
    }),
  );
  app.post<Id>("/v1/invites/:id/revoke", { config: ADMIN, schema: { params: idParam }, preValidation: noBody }, async (req) =>
    inSpan(req, async () => {
      const p = principalOf(req);
      const res = await deps.invite.revokeInvite({ inviteId: req.params.id }, call(p));
      return { invite: inviteJson(res.invite) };
    }),
  );
  app.post<Id>("/v1/invites/:id/regenerate", { config: ADMIN, schema: { params: idParam }, preValidation: noBody }, async (req, reply) =>
    inSpan(req, async () => {
      const p = principalOf(req);
      const res = await deps.invite.regenerateInvite({ inviteId: req.params.id }, call(p));
      return reply.code(201).send({ invite: inviteJson(res.invite), token: res.token, helmCommand: res.helmCommand });
    }),
  );
  app.get("/v1/subnet", async (req) =>
    inSpan(req, async () => {
      const p = principalOf(req);
      const res = await deps.peering.getTenantSubnet({}, call(p));
      return { subnet: subnetJson(res.subnet) };
    }),
  );
  app.put<{ Body: { cidr: string } }>("/v1/subnet", { config: ADMIN, schema: { body: setSubnetBody } }, async (req) =>
    inSpan(req, async () => {
      const p = principalOf(req);
      const res = await deps.peering.setTenantSubnet({ cidr: req.body.cidr }, call(p));
      return { subnet: subnetJson(res.subnet) };
    }),
  );

  // Public: the edge's bootstrap Job. Tight limit, closed schema, per-IP token bucket
  // checked before the body is even read.
  const buckets = deps.bootstrapRate > 0 ? new TokenBuckets(deps.bootstrapRate, deps.bootstrapBurst) : undefined;
  app.post<{ Body: { token: string; publicKey: string } }>(
    "/v1/bootstrap",
    {
      config: PUBLIC,
      bodyLimit: BOOTSTRAP_BODY_LIMIT,
      schema: { body: bootstrapBody },
      onRequest: async (req) => {
        if (buckets && !buckets.take(req.ip, Date.now())) throw new RateLimitedError();
      },
    },
    async (req) =>
      inSpan(req, async () => {
        const res = await deps.invite.redeemInvite({ token: req.body.token, publicKey: req.body.publicKey });
        return bootstrapJson(res);
      }),
  );

  return { app, routes };
}
