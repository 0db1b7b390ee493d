/**
 * Prometheus metrics, one registry per process (prom-client).
 *
 * Why prom-client rather than the OpenTelemetry metrics SDK with its
 * Prometheus exporter: the hot paths (every NATS request, every call through
 * the tunnel) record through pre-bound children (`labels(...)` once, then a
 * plain `inc`/`observe` on a held object: no attribute object or hashing per
 * call), gauges that are cheap to compute at scrape time are `collect()`
 * callbacks, and the Node process metrics (event loop lag, GC, heap) come
 * with it. Traces stay OpenTelemetry (tracing.ts).
 *
 * Metrics are get-or-create by name: several services started in one process
 * (in-process tests) share one series instead of failing on a second
 * registration.
 */
import { Counter, Gauge, Histogram, collectDefaultMetrics, register, type CounterConfiguration, type GaugeConfiguration, type HistogramConfiguration } from "prom-client";
import type { NatsConnection } from "@nats-io/transport-node";
import type pg from "pg";
import { Code } from "./errors.js";

export { register as metricsRegistry };
export type { Counter, Gauge, Histogram };

/** Latency buckets in seconds, from a loopback hop to a slow tunnel call. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function counter<L extends string>(cfg: CounterConfiguration<L>): Counter<L> {
  return (register.getSingleMetric(cfg.name) as Counter<L> | undefined) ?? new Counter(cfg);
}

export function gauge<L extends string>(cfg: GaugeConfiguration<L>): Gauge<L> {
  return (register.getSingleMetric(cfg.name) as Gauge<L> | undefined) ?? new Gauge(cfg);
}

export function histogram<L extends string>(cfg: HistogramConfiguration<L>): Histogram<L> {
  return (register.getSingleMetric(cfg.name) as Histogram<L> | undefined) ?? new Histogram({ buckets: LATENCY_BUCKETS, ...cfg });
}

let processMetrics = false;

/** The Node process metrics (CPU, memory, event loop lag, GC), once per process. */
export function collectProcessMetrics(serviceName: string): void {
  if (processMetrics) return;
  processMetrics = true;
  collectDefaultMetrics();
  gauge({ name: "daalu_service_info", help: "1 for the running service, labelled with its name", labelNames: ["service"] }).labels(serviceName).set(1);
}

/** NATS connections of this process, read at scrape time (nats.js keeps the counters). */
const natsConnections = new Map<NatsConnection, string>();
const natsDown = new Set<NatsConnection>();

/**
 * Reports `nc`'s counters as daalu_nats_* until it closes. Called by
 * connectNats, which also reports disconnects and reconnects through `up`.
 */
export function trackNats(nc: NatsConnection, name: string): { up(connected: boolean): void } {
  natsConnections.set(nc, name);
  void nc.closed().finally(() => {
    natsConnections.delete(nc);
    natsDown.delete(nc);
  });
  return { up: (connected) => void (connected ? natsDown.delete(nc) : natsDown.add(nc)) };
}

type NatsStat = "inMsgs" | "outMsgs" | "inBytes" | "outBytes";
const NATS_COUNTERS: [string, NatsStat, string][] = [
  ["daalu_nats_received_messages_total", "inMsgs", "messages received on this process's NATS connections"],
  ["daalu_nats_sent_messages_total", "outMsgs", "messages sent on this process's NATS connections"],
  ["daalu_nats_received_bytes_total", "inBytes", "bytes received on this process's NATS connections"],
  ["daalu_nats_sent_bytes_total", "outBytes", "bytes sent on this process's NATS connections"],
];
for (const [name, stat, help] of NATS_COUNTERS) {
  counter({
    name,
    help,
    labelNames: ["connection"],
    collect() {
      // nats.js counts; the counter mirrors its totals at scrape time.
      this.reset();
      for (const [nc, conn] of natsConnections) this.labels(conn).inc(nc.stats()[stat]);
    },
  });
}
gauge({
  name: "daalu_nats_connected",
  help: "1 while the NATS connection is up, 0 while it is reconnecting",
  labelNames: ["connection"],
  collect() {
    this.reset();
    for (const [nc, conn] of natsConnections) this.labels(conn).set(natsDown.has(nc) || nc.isClosed() ? 0 : 1);
  },
});

/** PostgreSQL pools of this process, read at scrape time. */
const pools = new Map<pg.Pool, string>();

/** Reports `pool`'s connections as daalu_db_pool_* until it ends. Called by createPool. */
export function trackPool(pool: pg.Pool, schema: string): void {
  pools.set(pool, schema);
}

gauge({
  name: "daalu_db_pool_connections",
  help: "PostgreSQL pool connections by state (idle, busy) and requests waiting for one (waiting)",
  labelNames: ["schema", "state"],
  collect() {
    this.reset();
    for (const [p, schema] of pools) {
      if (p.ended) {
        pools.delete(p);
        continue;
      }
      this.labels(schema, "idle").set(p.idleCount);
      this.labels(schema, "busy").set(p.totalCount - p.idleCount);
      this.labels(schema, "waiting").set(p.waitingCount);
    }
  },
});

const rpcDuration = histogram({ name: "daalu_rpc_server_duration_seconds", help: "Time to handle a NATS request, by method", labelNames: ["method"] });
const rpcHandled = counter({ name: "daalu_rpc_server_handled_total", help: "NATS requests handled, by method and result code (OK or the gRPC code name)", labelNames: ["method", "code"] });

/**
 * The recorder of one served method (serveNats calls this once per method):
 * children are bound up front and per code on first use, so a request costs
 * an observe and an increment, no label lookup.
 */
export function rpcServerMetrics(method: string): (code: Code | 0, seconds: number) => void {
  const duration = rpcDuration.labels(method);
  const byCode: Counter.Internal[] = [];
  return (code, seconds) => {
    duration.observe(seconds);
    (byCode[code] ??= rpcHandled.labels(method, code === 0 ? "OK" : Code[code])).inc();
  };
}
