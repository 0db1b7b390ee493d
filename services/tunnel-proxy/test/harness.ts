/**
 * The stack behind a call through the tunnel, without WireGuard: the real
 * kube-double, the edge's Proxy RPC on a loopback gRPC server (the tunnel's
 * stand-in), and the real peering, audit and tunnel-proxy services in this
 * process (startStack, in-process), the tunnel-proxy pointed at the edge by
 * TUNNEL_PROXY_EDGE_ADDR_OVERRIDE. Shared by
 * this package's tests, the gateway's k8s tests and bench/proxy.ts.
 */
import pg from "pg";
import { CallerKind, edgev1, peeringv1 } from "@daalu/proto";
import { bindGrpc, createLogger, grpc, natsClient, serveGrpc, type MethodsOf, type ServiceImpl } from "@daalu/runtime";
import { EDGE_NAMESPACE, startKubeDouble, type KubeDouble } from "@daalu/kube-double";
import type { TestEnv } from "@daalu/testing";
import { registerProxy, registerSession, type ApiServerRef, type HttpTarget } from "@daalu/edge/proxy";
import { startStack, type HubService, type Stack } from "@daalu/stack";
import type { RunningTunnelProxy } from "../src/service.js";

export interface TunnelStack {
  kube: KubeDouble;
  /** host:port of the edge's gRPC server. */
  edgeAddr: string;
  proxy: RunningTunnelProxy;
  /** Creates a cluster row of `tenant` in peering and points the tunnel-proxy's override at the edge. */
  clusterIds: string[];
  /** Audit rows stored for a cluster (optionally only matching `where` SQL on audit.calls). */
  auditRows(clusterId: string, where?: string): Promise<number>;
  /** Requests the kube-double is still answering (open streams). */
  openRequests(): number;
  stop(): Promise<void>;
}

/**
 * Creates clusters first (ids are needed for the override), then starts the services.
 * `edgeTargets`: in-cluster HTTP targets the edge registers (as EDGE_HTTP_TARGETS would).
 * `edgeApiServer`: how the edge reaches the kube-double (default: as the proxy ServiceAccount, a fixed token);
 * a suite can have the edge's own KubeAccess mint its credentials instead.
 * `edgeStatus`: the edge also serves GetStatus with this handler (e.g. a real EdgeAgent's, against the kube-double).
 * `audit: false`: no in-process audit service (the test runs its own, e.g. as a process it kills);
 * records still wait in the stream, which the tunnel-proxy creates.
 * Services connect to `env.env.NATS_URL` and clusters are created over `env.nc`,
 * so an env pointed at a private nats-server puts the whole stack on it.
 */
export async function startTunnelStack(env: TestEnv, clusters: { tenant: string; name: string }[], extra: Record<string, string> = {}, opts: { edgeTargets?: Record<string, HttpTarget>; audit?: boolean; edgeApiServer?: (kube: KubeDouble) => Promise<ApiServerRef>; edgeStatus?: (kube: KubeDouble) => Promise<ServiceImpl<MethodsOf<typeof edgev1.EdgeService>>["getStatus"]> } = {}): Promise<TunnelStack> {
  const quiet = { ...env.env, LOG_LEVEL: process.env["LOG_LEVEL"] ?? "silent" };
  const kube = await startKubeDouble();
  const server = new grpc.Server();
  const apiServer = opts.edgeApiServer ? await opts.edgeApiServer(kube) : { server: kube.url, ca: kube.ca!, token: "edge-proxy-token" };
  // The edge's GetStatus when asked for (serveGrpc adds the unary methods only; registerProxy then adds Proxy).
  if (opts.edgeStatus) serveGrpc(server, edgev1.EdgeService, { getStatus: await opts.edgeStatus(kube) } as ServiceImpl<MethodsOf<typeof edgev1.EdgeService>>, createLogger("edge", quiet.LOG_LEVEL));
  const proxyOpts = { apiServer, ownNamespace: EDGE_NAMESPACE, ...(opts.edgeTargets ? { targets: opts.edgeTargets } : {}), logger: createLogger("edge", quiet.LOG_LEVEL) };
  registerProxy(server, proxyOpts);
  registerSession(server, proxyOpts);
  const clusterIds: string[] = [];
  let stack: Stack;
  let edgeAddr: string;
  try {
    edgeAddr = `127.0.0.1:${await bindGrpc(server, "127.0.0.1:0")}`;
    const services: HubService[] = opts.audit === false ? ["peering", "tunnel-proxy"] : ["peering", "audit", "tunnel-proxy"];
    stack = await startStack({
      databaseUrl: env.databaseUrl,
      natsUrl: env.env["NATS_URL"] ?? env.natsUrl,
      prefix: env.prefix,
      env: quiet,
      services,
      inProcess: services,
      serviceEnv: {
        peering: { PEERING_GRPC_ADDR: "off" },
        audit: { AUDIT_GRPC_ADDR: "off", AUDIT_BATCH_WAIT: "5ms" },
        // Clusters first (their ids go into the override), once peering serves.
        "tunnel-proxy": async () => {
          const pc = natsClient(env.nc, peeringv1.PeeringService, { prefix: env.prefix, defaults: { caller: { kind: CallerKind.SERVICE, id: "test" } } });
          for (const c of clusters) clusterIds.push((await pc.createCluster({ name: c.name }, { tenantId: c.tenant })).cluster!.id);
          return { TUNNEL_PROXY_EDGE_ADDR_OVERRIDE: clusterIds.map((id) => `${id}=${edgeAddr}`).join(","), ...extra };
        },
      },
    });
  } catch (err) {
    server.forceShutdown();
    await kube.close();
    throw err;
  }
  const db = new pg.Pool({ connectionString: env.databaseUrl, max: 2 });
  // pg emits idle-client errors on the pool (e.g. the test database dropped at
  // cleanup); unhandled, they crash the test process.
  db.on("error", () => undefined);
  return {
    kube,
    edgeAddr,
    proxy: stack.inProcess["tunnel-proxy"]!,
    clusterIds,
    async auditRows(clusterId, where) {
      const r = await db.query(`select count(*)::int as n from audit.calls where cluster_id = $1${where ? ` and (${where})` : ""}`, [clusterId]);
      return r.rows[0].n as number;
    },
    openRequests: () => kube.requestCount((q) => q.status === undefined),
    async stop() {
      // Every part stops even if an earlier one fails, so nothing is left
      // connected when the test's database is dropped.
      const errors: unknown[] = [];
      const step = async (f: () => unknown) => {
        try {
          await f();
        } catch (err) {
          errors.push(err);
        }
      };
      await step(() => stack.stop());
      await step(() => server.forceShutdown());
      await step(() => kube.close());
      await step(() => db.end());
      if (errors.length > 0) throw errors[0];
    },
  };
}
