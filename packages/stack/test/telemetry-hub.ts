/**
 * The hub as production runs it, for the telemetry tests: every service a
 * process (metrics listener on a free port, spans exported over OTLP to the
 * test's receiver), plus an edge served from this process on loopback gRPC
 * (GetStatus and Proxy, the kube-double behind it; the tunnel's stand-in, as
 * in services/tunnel-proxy/test/harness.ts), exporting its spans over OTLP
 * the same way. Its cluster is made through peering before the tunnel-proxy
 * starts, which is pointed at the edge by TUNNEL_PROXY_EDGE_ADDR_OVERRIDE.
 */
import { request } from "node:http";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { CallerKind, edgev1, peeringv1 } from "@daalu/proto";
import { bindGrpc, createLogger, grpc, initTracing, natsClient, serveGrpc, type MethodsOf, type ServiceImpl } from "@daalu/runtime";
import { EDGE_NAMESPACE, startKubeDouble, type KubeDouble } from "@daalu/kube-double";
import { registerProxy } from "@daalu/edge/proxy";
import type { OtlpReceiver, TestEnv } from "@daalu/testing";
import { startStack, HUB_SERVICES, type HubService, type Stack } from "../src/index.js";

export interface TelemetryHub {
  stack: Stack;
  kube: KubeDouble;
  /** The cluster the in-process edge serves. */
  clusterId: string;
  /** Each service's metrics port (from its ready line). */
  metricsPorts: Record<HubService, number>;
  stop(): Promise<void>;
}

export async function startTelemetryHub(env: TestEnv, otlp: OtlpReceiver): Promise<TelemetryHub> {
  // The edge's spans leave this process over OTLP too (the same runtime code the edge's main uses).
  initTracing({ serviceName: "daalu-edge", exporter: "otlp", otlp: { url: `${otlp.url}/v1/traces`, headers: {}, timeoutMs: 5_000 } });
  const kube = await startKubeDouble();
  const server = new grpc.Server();
  const logger = createLogger("edge", "silent");
  const getStatus: ServiceImpl<MethodsOf<typeof edgev1.EdgeService>>["getStatus"] = async () => ({ edgeVersion: "0.0.0-telemetry", apiReachable: true, kubernetesVersion: "v1.33.0", nodeCount: 1, nodesReady: 1 });
  serveGrpc(server, edgev1.EdgeService, { getStatus } as ServiceImpl<MethodsOf<typeof edgev1.EdgeService>>, logger);
  registerProxy(server, { apiServer: { server: kube.url, ca: kube.ca!, token: "edge-proxy-token" }, ownNamespace: EDGE_NAMESPACE, logger });
  const edgeAddr = `127.0.0.1:${await bindGrpc(server, "127.0.0.1:0")}`;
  let clusterId = "";
  let stack: Stack;
  try {
    stack = await startStack({
      databaseUrl: env.databaseUrl,
      natsUrl: env.natsUrl,
      prefix: env.prefix,
      env: {
        ...env.env,
        LOG_LEVEL: process.env["LOG_LEVEL"] ?? "warn",
        DAALU_METRICS_LISTEN: "127.0.0.1:0",
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
        OTEL_EXPORTER_OTLP_HEADERS: "x-otlp-tenant=daalu%20test",
        // Export each span batch at once rather than every 5 s.
        OTEL_BSP_SCHEDULE_DELAY: "50",
      },
      serviceEnv: {
        peering: { PEERING_GRPC_ADDR: "off" },
        audit: { AUDIT_GRPC_ADDR: "off", AUDIT_BATCH_WAIT: "5ms" },
        "tunnel-proxy": async () => {
          const pc = natsClient(env.nc, peeringv1.PeeringService, { prefix: env.prefix, defaults: { caller: { kind: CallerKind.SERVICE, id: "test" } } });
          clusterId = (await pc.createCluster({ name: "traced" }, { tenantId: "acme" })).cluster!.id;
          return { TUNNEL_PROXY_EDGE_ADDR_OVERRIDE: `${clusterId}=${edgeAddr}` };
        },
      },
      tenant: { id: "acme" },
    });
  } catch (err) {
    server.forceShutdown();
    await kube.close();
    throw err;
  }
  const metricsPorts = {} as Record<HubService, number>;
  for (const s of HUB_SERVICES) metricsPorts[s] = Number((await stack.process(s).ready)["metricsPort"]);
  return {
    stack,
    kube,
    clusterId,
    metricsPorts,
    async stop() {
      await stack.stop();
      server.forceShutdown();
      await kube.close();
    },
  };
}

/** GET on 127.0.0.1:port, status and body. */
export function get(port: number, path: string): Promise<{ status: number; contentType: string; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: "127.0.0.1", port, path }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers["content-type"]), body }));
    })
      .on("error", reject)
      .end();
  });
}

/** A scrape, parsed by a real exposition-format parser: families by name. */
export interface Scrape {
  families: Map<string, ReturnType<typeof parsePrometheusTextFormat>[number]>;
  /** The value of the counter or gauge sample of `name` whose labels include `labels`; undefined when there is none. */
  value(name: string, labels?: Record<string, string>): number | undefined;
  /** The observation count of the histogram series of `name` with these labels; undefined when there is none. */
  histogramCount(name: string, labels?: Record<string, string>): number | undefined;
}

/**
 * The parser folds every series of a histogram family into one (its
 * flattenMetrics keys buckets by `le` alone) and keeps _count only for
 * unlabelled series, so a labelled histogram is parsed one series at a time
 * (the family's HELP/TYPE lines and only the sample lines that carry every
 * wanted label) and its count read from the `+Inf` bucket, which the format
 * defines equal to it.
 */
function oneSeries(text: string, name: string, labels: Record<string, string>): string {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const series = new Set([`${name}_bucket`, `${name}_sum`, `${name}_count`]);
  return text
    .split("\n")
    .filter((l) => l.startsWith(`# HELP ${name} `) || l.startsWith(`# TYPE ${name} `) || (series.has(/^[\w:]+/.exec(l)?.[0] ?? "") && want.every((w) => l.includes(w))))
    .join("\n");
}

export async function scrape(port: number): Promise<Scrape> {
  const r = await get(port, "/metrics");
  if (r.status !== 200) throw new Error(`GET /metrics: ${r.status} ${r.body}`);
  if (!r.contentType.startsWith("text/plain; version=0.0.4")) throw new Error(`GET /metrics: content-type ${r.contentType}`);
  const families = new Map(parsePrometheusTextFormat(r.body).map((f) => [f.name, f]));
  return {
    families,
    value(name, labels = {}) {
      const f = families.get(name);
      const m = f?.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
      return m?.value === undefined ? undefined : Number(m.value);
    },
    histogramCount(name, labels = {}) {
      const [f] = parsePrometheusTextFormat(`${oneSeries(r.body, name, labels)}\n`);
      if (f?.type !== "HISTOGRAM" || f.metrics.length !== 1) return undefined;
      const inf = f.metrics[0]!.buckets?.["+Inf"];
      return inf === undefined ? undefined : Number(inf);
    },
  };
}
