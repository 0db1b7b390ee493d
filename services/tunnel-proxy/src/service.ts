/**
 * Wiring of the tunnel-proxy, runnable in-process (tests, benchmarks) or from main.ts.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import type { Subscription } from "@nats-io/transport-node";
import { CallerKind } from "@daalu/proto";
import { randomUUID } from "node:crypto";
import { auditStreamName, createAuditPublisher, publishOwnerHeartbeat, AuditUnavailableError } from "@daalu/audit";
import { peeringClient } from "@daalu/peering";
import { assemble, connectNats, fromGrpcError, grpc, TtlCache, tunnelSubject, type Logger, type NatsConnection, type Running, type ServiceDefinition } from "@daalu/runtime";
import { SERVICE_NAME, loadConfig, type TunnelProxyConfig } from "./config.js";
import { EdgeClients } from "./adapters/grpc/edge-client.js";
import { handleProxy } from "./adapters/nats/handler.js";
import { serveQueries } from "./queries.js";
import { serveSessions } from "./adapters/nats/session-handler.js";
import { HomeRouting, type TunnelHandler } from "./adapters/nats/home-routing.js";
import { EDGE_STATUS_METHOD, edgeStatusHandler, routedEdgeStatus, type EdgeStatusFn } from "./adapters/nats/edge-status-route.js";
import { aliveSubject } from "./no-responder.js";
import { ClusterNotConnectedError, EdgeUnavailableError, TunnelNotConnectedError } from "./errors.js";
import { tunnelRefusal } from "./domain/tunnel-state.js";
import { meteredAudit, trackInflight } from "./adapters/metrics.js";
import { settledWithin } from "./settled.js";

export interface RunningTunnelProxy extends Running {
  nc: NatsConnection;
  /** Calls being answered now. */
  readonly inflight: number;
  /** Sessions (exec, attach, port-forward) open now, until their end record was published. */
  readonly openSessions: number;
  /** This process's random id: its session rows name it, and its heartbeats keep them open (@daalu/audit session-owners). */
  readonly instance: string;
  /** With TUNNEL_PROXY_NODE_ID: the clusters whose tunnel subjects this process serves now. */
  readonly homedClusters: string[] | undefined;
}

const SELF = { kind: CallerKind.SERVICE, id: SERVICE_NAME };
/** A positive audit-stream check is trusted this long (streams ask before they start). */
const AUDIT_READY_CACHE_MS = 1_000;

/** Subscribes to every cluster's Proxy subject and answers calls through the tunnel. */
export function start(config: TunnelProxyConfig, logger: Logger): Promise<RunningTunnelProxy> {
  return assemble(logger, async (res) => {
    const nc = await connectNats(config.natsUrl, SERVICE_NAME, logger);
    res.add("nats", () => nc.drain());
    const prefix = config.natsPrefix;
    const audit = meteredAudit(await createAuditPublisher(nc, { prefix }));
    // A new id per process: a restarted tunnel-proxy never vouches for the sessions its predecessor left open.
    const instance = randomUUID();
    const heartbeat = publishOwnerHeartbeat(nc, prefix, instance);
    // Closed after the sessions (closers run last-added first): their end records go out while we still beat.
    res.add("instance-heartbeat", () => heartbeat.stop());
    const jsm = await jetstreamManager(nc);
    const peering = peeringClient(nc, { prefix, defaults: { caller: SELF } });
    const edges = new EdgeClients();
    res.add("edges", () => edges.close());

    // Single-flight: when a hot cluster's entry expires, one lookup serves every call in flight.
    const cache = new TtlCache<string>(config.clusterCacheMs);
    const edgeAddress = (tenantId: string, clusterId: string): Promise<string> =>
      cache.get(`${tenantId}/${clusterId}`, async () => {
        // Asked every time the cache is cold, override or not: the cluster must exist in this tenant.
        const got = await peering.getCluster({ clusterId }, { tenantId, caller: SELF, timeoutMs: 5_000 });
        const override = config.edgeAddrOverride[clusterId];
        if (override) return override;
        // Refused (and not cached) when peering already knows the tunnel is not up: no call would get through.
        const no = got.cluster ? tunnelRefusal(got.cluster, Date.now()) : { kind: "not-enrolled", message: `cluster ${clusterId} has no tunnel yet (not enrolled)` };
        if (no) throw no.kind === "not-enrolled" ? new ClusterNotConnectedError(clusterId, no.message) : new TunnelNotConnectedError(no.message);
        return `${got.cluster!.tunnelIp}:${config.edgePort}`;
      });
    let auditOkUntil = 0;
    const auditReady = async () => {
      if (Date.now() < auditOkUntil) return;
      try {
        await jsm.streams.info(auditStreamName(prefix));
      } catch (err) {
        throw new AuditUnavailableError(err);
      }
      auditOkUntil = Date.now() + AUDIT_READY_CACHE_MS;
    };

    const deps = {
      nc,
      edges,
      edgeAddress,
      audit,
      auditReady,
      unaryTimeoutMs: config.unaryTimeoutMs,
      unaryBufferBytes: config.unaryBufferBytes,
      auditDeadlineMs: config.auditDeadlineMs,
      logger: logger.child({ component: "proxy" }),
    };
    const inflight = new Set<Promise<void>>();
    const onProxy: TunnelHandler = (err, msg) => {
      if (err) {
        logger.error({ err }, "subscription error");
        return;
      }
      const p = handleProxy(deps, msg).catch((e) => logger.error({ err: e }, "proxy handler crashed"));
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
      return p;
    };
    // One hub node (no TUNNEL_PROXY_NODE_ID): one queue group takes every cluster. With several WireGuard nodes,
    // each node's tunnel-proxies subscribe only the clusters homed on their node (home-routing.ts, below).
    const sub: Subscription | undefined = config.nodeId ? undefined : nc.subscribe(tunnelSubject(prefix, "*", "*", "Proxy"), { queue: SERVICE_NAME, callback: (e, m) => void onProxy(e, m) });
    // Any live tunnel-proxy answers here, so a requester that finds no responder for a cluster can tell "moving" from "none running" (no-responder.ts).
    const alive = nc.subscribe(aliveSubject(prefix), { queue: SERVICE_NAME, callback: (_e, m) => void m.respond() });
    res.add("alive", async () => alive.unsubscribe());
    res.add("metrics", trackInflight(() => inflight.size));
    res.add("proxy-subscription", async () => {
      await sub?.drain().catch(() => undefined);
      // Open streams end when their callers hang up or the drain timeout passes.
      await settledWithin(inflight, config.drainTimeoutMs);
    });

    // Sessions (exec, attach, port-forward): closed before the proxy subscription's drain, so they end with a reason.
    const sessions = serveSessions({ nc, prefix, queue: SERVICE_NAME, instance, edges, edgeAddress, audit, auditDeadlineMs: config.auditDeadlineMs, headTimeoutMs: config.unaryTimeoutMs, sessions: config.sessions, logger: logger.child({ component: "session" }), wildcard: !config.nodeId });
    res.add("sessions", () => sessions.drain());
    // GetEdgeStatus asks the edge itself (EdgeService.GetStatus), through the same tunnel and the same refusal.
    const localEdgeStatus: EdgeStatusFn = async (tenantId, clusterId, deadline) => {
      const addr = await edgeAddress(tenantId, clusterId);
      try {
        return await edges.getStatus(addr, deadline);
      } catch (err) {
        const e = err as grpc.ServiceError;
        throw e.code === grpc.status.UNAVAILABLE || e.code === grpc.status.DEADLINE_EXCEEDED ? new EdgeUnavailableError(clusterId, e.details, err) : fromGrpcError(e);
      }
    };
    let routing: HomeRouting | undefined;
    if (config.nodeId) {
      const handlers = { Proxy: onProxy, Session: sessions.handler, [EDGE_STATUS_METHOD]: edgeStatusHandler(localEdgeStatus, logger.child({ component: "edge-status" })) };
      routing = new HomeRouting({ nc, prefix, queue: SERVICE_NAME, nodeId: config.nodeId, peering, handlers, settle: (ms) => settledWithin(inflight, ms), logger: logger.child({ component: "home-routing" }) });
      const r = routing;
      // Closed first: no new call is taken, then sessions end and in-flight calls finish (closers above).
      res.add("home-routing", () => r.drain());
      await r.start();
    }

    // Typed queries (daalu.query.v1) issue their GETs through the Proxy subjects above, like kubectl.
    // serveQueries flushes: a request sent right after start() (a test, a
    // replica's first caller) finds both subscriptions on the server.
    // GetEdgeStatus asks the edge from the cluster's home node (edge-status-route.ts).
    const edgeStatus = routedEdgeStatus(nc, prefix, localEdgeStatus, (t, c) => routing?.serves(t, c));
    const queries = await serveQueries(nc, { prefix, queue: SERVICE_NAME, logger: logger.child({ component: "queries" }), edgeStatus });
    res.add("queries", () => queries.drain());
    return {
      nc,
      instance,
      get homedClusters() {
        return routing?.clusters;
      },
      get inflight() {
        return inflight.size;
      },
      get openSessions() {
        return sessions.open;
      },
    };
  });
}

/** The tunnel-proxy for runService (main.ts) and in-process stacks. */
export const tunnelProxyService: ServiceDefinition<TunnelProxyConfig, RunningTunnelProxy> = {
  name: SERVICE_NAME,
  loadConfig,
  start,
  readyFields: (r, c) => ({ instance: r.instance, edgePort: c.edgePort, overrides: Object.keys(c.edgeAddrOverride).length }),
};
