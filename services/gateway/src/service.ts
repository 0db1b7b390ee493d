import { CallerKind } from "@daalu/proto";
import { inviteClient } from "@daalu/invite";
import { hubNodeClient, peeringClient } from "@daalu/peering";
import { assemble, connectNats, createDb, formatHostPort, migrateToLatest, type Logger, type NatsConnection, type Running, type ServiceDefinition } from "@daalu/runtime";
import type { FastifyInstance } from "fastify";
import type { Kysely } from "kysely";
import { migrations } from "./adapters/pg/migrations.js";
import { GatewayStore, SCHEMA, type GatewayDb } from "./adapters/pg/store.js";
import { Authenticator } from "./auth.js";
import { loadConfig, type GatewayConfig } from "./config.js";
import { readFile } from "node:fs/promises";
import { buildApp, type RouteList } from "./http/app.js";
import { webAppPlugin } from "./http/web.js";
import { createAuditClient, createAuditPublisher } from "@daalu/audit";
import { queryClient } from "@daalu/tunnel-proxy";
import { auditRoutesPlugin } from "./http/audit-routes.js";
import { driftClient } from "@daalu/drift";
import { driftRoutesPlugin } from "./http/drift-routes.js";
import { chartsPlugin } from "./http/charts.js";
import { diagnosticsPlugin } from "./http/diagnostics.js";
import { DEFAULT_K8S_HEAD_TIMEOUT_MS, k8sProxyPlugin } from "./http/k8s-proxy.js";
import { k8sSessions } from "./http/k8s-session.js";
import { kubectlRunPlugin } from "./http/kubectl-run.js";
import { queryRoutesPlugin } from "./http/queries.js";
import { clusterDetailPlugin } from "./http/cluster-detail.js";
import { eventsCursor, eventsPlugin } from "./http/events.js";
import { chartVersions } from "./http/charts.js";
import { rbacRoutesPlugin } from "./http/rbac.js";
import { targetsPlugin } from "./http/targets.js";
import { sessionRoutesPlugin } from "./http/session-routes.js";
import { oidcRoutesPlugin } from "./http/oidc-routes.js";
import { cliAuthRoutesPlugin } from "./http/cli-auth-routes.js";
import { UserStore } from "./adapters/pg/user-store.js";
import { Sessions } from "./sessions.js";
import { Code, DaaluError } from "@daalu/runtime";

export interface RunningGateway extends Running {
  /** http://host:port actually bound (port 0 resolved). */
  url: string;
  app: FastifyInstance;
  routes: RouteList;
  store: GatewayStore;
  nc: NatsConnection;
  /** Stops taking requests, lets in-flight ones finish, then drains NATS and closes the pool (the same as stop()). */
  close(): Promise<void>;
}

/**
 * Every client the gateway makes comes from the service's own package (client.ts via index.ts) and
 * calls as the gateway by default; a request on behalf of an API token passes that caller per call.
 */
const GATEWAY_CALLER = { kind: CallerKind.SERVICE, id: "gateway" };

/** What in-process tests may replace. */
export interface StartOptions {
  /** The sessions' clock (ms since the epoch): expiry tests move it instead of sleeping. */
  clock?: () => number;
}

/** Starts the gateway in this process (main.ts and in-process tests). */
export async function start(config: GatewayConfig, logger: Logger, opts: StartOptions = {}): Promise<RunningGateway> {
  const running = await assemble(logger, async (res) => {
    const db: Kysely<GatewayDb> = createDb<GatewayDb>({ url: config.databaseUrl, schema: SCHEMA, poolSize: config.dbPool, logger });
    res.add("db", () => db.destroy());
    await migrateToLatest(db as Kysely<unknown>, SCHEMA, migrations, logger);
    const conn = await connectNats(config.natsUrl, "gateway", logger);
    res.add("nats", () => conn.drain().catch(() => undefined));
    const store = new GatewayStore(db);
    const prefix = config.natsPrefix;
    const peering = peeringClient(conn, { prefix, defaults: { caller: GATEWAY_CALLER } });
    const sessions = new Sessions(new UserStore(db), config.session, opts.clock ?? Date.now, logger.child({ component: "sessions" }));
    const auth = new Authenticator(store, config.authCacheMs, logger.child({ component: "auth" }), sessions);
    const tls = config.tls
      ? { cert: await readFile(config.tls.certFile), key: await readFile(config.tls.keyFile), ca: config.tls.caFile ? await readFile(config.tls.caFile, "utf8") : undefined }
      : undefined;
    const { app, routes } = buildApp({
      ...(tls ? { https: { cert: tls.cert, key: tls.key } } : {}),
      invite: inviteClient(conn, { prefix, defaults: { caller: GATEWAY_CALLER } }),
      peering,
      auth,
      logger,
      bodyLimit: config.bodyLimit,
      bootstrapRate: config.bootstrapRate,
      bootstrapBurst: config.bootstrapBurst,
      eventsSeq: eventsCursor(conn, prefix),
      async ready() {
        if (conn.isClosed()) throw new DaaluError(Code.Unavailable, "NATS connection closed", { reason: "NATS_UNAVAILABLE" });
        try {
          await withTimeout(conn.flush(), 2_000);
        } catch (err) {
          throw new DaaluError(Code.Unavailable, "NATS not reachable", { reason: "NATS_UNAVAILABLE", cause: err });
        }
        try {
          await withTimeout(store.ping(), 2_000);
        } catch (err) {
          throw new DaaluError(Code.Unavailable, "database not reachable", { reason: "DATABASE_UNAVAILABLE", cause: err });
        }
      },
    });
    // Fastify closes first: in-flight requests finish before NATS drains and the pool closes.
    res.add("http", () => app.close());
    // The Kubernetes-API-compatible endpoint per cluster and kubeconfig download.
    await app.register(k8sProxyPlugin, {
      peering,
      nc: conn,
      natsPrefix: prefix,
      publicUrl: config.publicUrl,
      ...(tls ? { caPem: tls.ca ?? tls.cert.toString("utf8") } : {}),
      logger,
    });
    // exec, attach and port-forward: upgraded connections under /k8s (the server's upgrade event).
    k8sSessions(app, { auth, peering, nc: conn, natsPrefix: prefix, assistantTenants: config.sessionAssistantTenants, headTimeoutMs: DEFAULT_K8S_HEAD_TIMEOUT_MS, logger });
    // Audit log and metering, typed cluster queries (Assistant/agents), in-cluster
    // HTTP targets (Prometheus, Loki, Grafana) and one-shot kubectl: all through the tunnel.
    await app.register(auditRoutesPlugin, { auth, audit: createAuditClient(conn, { prefix, defaults: { caller: GATEWAY_CALLER } }), logger });
    const queries = queryClient(conn, { prefix, defaults: { caller: GATEWAY_CALLER } });
    await app.register(queryRoutesPlugin, { queries, logger });
    // The operator app: live events (SSE) and the cluster detail page's reads.
    await app.register(eventsPlugin, { nc: conn, natsPrefix: prefix, logger, heartbeatMs: config.eventsHeartbeatMs, ...config.events });
    await app.register(clusterDetailPlugin, { peering, queries, logger });
    // Drift detection: desired state, the opt-in, checks and reports (the drift service).
    await app.register(driftRoutesPlugin, { auth, peering, drift: driftClient(conn, { prefix, defaults: { caller: GATEWAY_CALLER } }) });
    // RBAC widening: requested vs effective scopes, and the patch the customer applies (never the hub).
    await app.register(rbacRoutesPlugin, { peering, queries, logger, publicUrl: config.publicUrl, chart: await chartVersions(config.edgeChartDir) });
    await app.register(targetsPlugin, { auth, nc: conn, natsPrefix: prefix, logger });
    const k = config.kubectl;
    await app.register(kubectlRunPlugin, {
      auth,
      peering,
      logger,
      // The tunnel-proxy owns the stream (no call works without it); the gateway only publishes.
      audit: await createAuditPublisher(conn, { prefix, ensureStream: false }),
      limits: { total: k.maxRuns, perTenant: Math.min(k.maxRunsPerTenant, k.maxRuns), perCluster: k.maxRunsPerCluster },
      runAs: k.runAs,
    });
    // Sign-in: password sessions, OIDC single sign-on, the CLI's browser login.
    await app.register(sessionRoutesPlugin, { sessions, oidcLabel: config.oidc?.label, publicUrl: config.publicUrl });
    await app.register(oidcRoutesPlugin, { oidc: config.oidc, sessions, logger });
    await app.register(cliAuthRoutesPlugin, { sessions, tokens: store });
    await app.register(chartsPlugin, { dir: config.edgeChartDir, logger });
    await app.register(webAppPlugin, { dir: config.webDir, logger });
    await app.register(diagnosticsPlugin, { auth, hubNode: hubNodeClient(conn, { prefix, defaults: { caller: GATEWAY_CALLER } }), logger });
    await app.listen({ host: config.host, port: config.port });
    const addr = app.server.address();
    const port = typeof addr === "object" && addr ? addr.port : config.port;
    const host = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;
    return { url: `${tls ? "https" : "http"}://${formatHostPort(host, port)}`, app, routes, store, nc: conn };
  });
  return Object.assign(running, { close: () => running.stop() });
}

/** The gateway for runService (main.ts) and in-process stacks. */
export const gatewayService: ServiceDefinition<GatewayConfig, RunningGateway> = {
  name: "gateway",
  loadConfig,
  start,
  readyFields: (r, c) => ({ url: r.url, publicUrl: c.publicUrl }),
};

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, rej) => (t = setTimeout(() => rej(new Error(`timed out after ${ms} ms`)), ms)))]).finally(() => clearTimeout(t));
}
