/**
 * Drift detection through the hub (issue 11): `--clusters` clusters × `--objects`
 * desired objects each, every cluster checked on demand (CheckNow) by the drift
 * service, which reads through the tunnel-proxy as agent:reconciler, one LIST
 * per (apiVersion, kind, namespace), every read an audit record.
 *
 *   npm run bench -- drift [--clusters 100] [--objects 100] [--rounds 3] [--concurrency 32]
 *
 * Topology (no WireGuard): peering, audit, tunnel-proxy and drift are each a
 * process (startStack), on this run's own nats-server (JetStream) and a fresh
 * database; every cluster's tunnel points (TUNNEL_PROXY_EDGE_ADDR_OVERRIDE) at
 * one edge Proxy served on loopback gRPC in this process, in front of one
 * kube-double that all clusters share. Each bundle spreads its objects over
 * five kinds (Deployment, StatefulSet, DaemonSet, Service, ConfigMap) in two
 * namespaces, so a check makes 10 list reads; one Deployment per cluster has
 * drifted (its image), so every report must say 99 in sync, 1 modified.
 * One warm-up round, then `--rounds` measured rounds, each checking every
 * cluster with at most `--concurrency` checks in flight. Hub CPU is the sum
 * over the measured rounds of the service processes, the nats-server and the
 * PostgreSQL backends of this database (/proc, as bench/proxy.ts reads it);
 * the edge, the kube-double and this load generator are not hub. Ends with
 *   RESULT {"bench":"drift","clusters":…,"objects":…,"objects_per_s":…,"hub_cpu_ms_per_object":…,…}
 */
import { performance } from "node:perf_hooks";
import { CallerKind } from "@daalu/proto";
import { bindGrpc, connectNats, createLogger, grpc } from "@daalu/runtime";
import { EDGE_NAMESPACE, EDGE_PROXY_USER, defaultPolicy, startKubeDouble } from "@daalu/kube-double";
import { registerProxy } from "@daalu/edge/proxy";
import { driftClient } from "@daalu/drift";
import { peeringClient } from "@daalu/peering";
import { startStack, type HubService } from "@daalu/stack";
import { setup, startNatsServer } from "@daalu/testing";
import { diff, findPids, sample, type Watched } from "./lib/cpu.js";

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : def;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`);
  return v;
}
const CLUSTERS = arg("clusters", 100);
const OBJECTS = arg("objects", 100);
const ROUNDS = arg("rounds", 3);
const CONCURRENCY = arg("concurrency", 32);
const log = (s: string) => process.stdout.write(`${s}\n`);
const TENANT = "bench";
const KINDS = [
  { apiVersion: "apps/v1", kind: "Deployment" },
  { apiVersion: "apps/v1", kind: "StatefulSet" },
  { apiVersion: "apps/v1", kind: "DaemonSet" },
  { apiVersion: "v1", kind: "Service" },
  { apiVersion: "v1", kind: "ConfigMap" },
];
const NAMESPACES = ["shop", "billing"];
const HUB_SERVICES: HubService[] = ["peering", "audit", "tunnel-proxy", "drift"];

/** The i-th desired object (live unless `drifted`: then the desired image differs from the live one). */
function object(i: number, drifted = false): Record<string, unknown> {
  const k = KINDS[i % KINDS.length]!;
  const namespace = NAMESPACES[Math.floor(i / KINDS.length) % NAMESPACES.length]!;
  const metadata = { name: `obj-${i}`, namespace, labels: { app: `obj-${i}`, tier: "bench" } };
  if (k.kind === "ConfigMap") return { ...k, metadata, data: { mode: "fast", index: String(i) } };
  if (k.kind === "Service") return { ...k, metadata, spec: { selector: { app: `obj-${i}` }, ports: [{ port: 80, protocol: "TCP" }] } };
  return { ...k, metadata, spec: { replicas: 2, template: { spec: { containers: [{ name: "app", image: drifted ? "app:2" : "app:1" }] } } } };
}

async function pool<T>(items: T[], n: number, f: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) await f(items[next++]!);
  }));
}

const nats = await startNatsServer({ jetstream: true });
const env = await setup();
const kube = await startKubeDouble({ fixtures: false });
const server = new grpc.Server();
const cleanups: Array<() => Promise<unknown> | unknown> = [() => nats.cleanup(), () => env.cleanup(), () => kube.close(), () => server.forceShutdown()];
try {
  kube.setRbac(EDGE_PROXY_USER, [...defaultPolicy()[EDGE_PROXY_USER]!, { apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] }]);
  for (const ns of NAMESPACES) kube.store.put({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
  for (let i = 0; i < OBJECTS; i++) kube.store.put(object(i) as never);
  registerProxy(server, { apiServer: { server: kube.url, ca: kube.ca!, token: "edge-proxy-token" }, ownNamespace: EDGE_NAMESPACE, logger: createLogger("edge", "warn") });
  const edgeAddr = `127.0.0.1:${await bindGrpc(server, "127.0.0.1:0")}`;
  const nc = await connectNats(nats.url, "bench", createLogger("bench", "warn"));
  cleanups.unshift(() => nc.drain());
  const caller = { kind: CallerKind.USER, id: "bench" };
  const clusterIds: string[] = [];
  const stack = await startStack({
    databaseUrl: env.databaseUrl,
    natsUrl: nats.url,
    prefix: env.prefix,
    env: { ...env.env, NATS_URL: nats.url, LOG_LEVEL: "warn" },
    services: HUB_SERVICES,
    keepOutput: false,
    serviceEnv: {
      peering: { PEERING_GRPC_ADDR: "off" },
      audit: { AUDIT_GRPC_ADDR: "off" },
      "tunnel-proxy": async () => {
        const peering = peeringClient(nc, { prefix: env.prefix, defaults: { caller } });
        for (let i = 0; i < CLUSTERS; i++) clusterIds.push((await peering.createCluster({ name: `c${i}` }, { tenantId: TENANT })).cluster!.id);
        return { TUNNEL_PROXY_EDGE_ADDR_OVERRIDE: clusterIds.map((id) => `${id}=${edgeAddr}`).join(",") };
      },
      drift: { DRIFT_GRPC_ADDR: "off", DRIFT_SCHEDULE_TICK: "0s" },
    },
  });
  cleanups.unshift(() => stack.stop());
  const drift = driftClient(nc, { prefix: env.prefix, defaults: { caller } });
  const yaml = Array.from({ length: OBJECTS }, (_, i) => JSON.stringify(object(i, i === 0))).join("\n---\n");
  await pool(clusterIds, 8, async (id) => {
    await drift.putDesiredState({ clusterId: id, yaml }, { tenantId: TENANT });
    await drift.setReconciliation({ clusterId: id, enabled: true, intervalSeconds: 86_400 }, { tenantId: TENANT });
  });

  const dbName = new URL(env.databaseUrl).pathname.slice(1);
  const watched = (): Watched[] => {
    const w: Watched[] = stack.processes.filter((p) => p.child.pid).map((p) => ({ label: p.name.replace(/-\d+$/, ""), where: "hub", pid: p.child.pid! }));
    for (const pid of findPids((c) => c.includes("nats-server") && c.includes(` ${nats.port}`))) w.push({ label: "nats-server", where: "hub", pid });
    for (const pid of findPids((c) => c.startsWith("postgres:") && c.includes(` ${dbName} `))) w.push({ label: "postgres backends", where: "hub", pid });
    w.push({ label: "bench + edge + kube-double (not hub)", where: "bench", pid: process.pid });
    return w;
  };
  let failures = 0;
  let reads = 0;
  const round = async () => {
    await pool(clusterIds, CONCURRENCY, async (id) => {
      try {
        const r = (await drift.checkNow({ clusterId: id }, { tenantId: TENANT, timeoutMs: 120_000 })).report!;
        reads += r.reads;
        if (r.objects.length !== OBJECTS || r.summary?.modified !== 1 || r.summary.inSync !== OBJECTS - 1) {
          failures++;
          if (failures <= 3) log(`unexpected report of ${id}: ${JSON.stringify(r.summary)}`);
        }
      } catch (err) {
        failures++;
        if (failures <= 3) log(`check of ${id} failed: ${String(err)}`);
      }
    });
  };
  log(`topology: peering, audit, tunnel-proxy, drift as processes on this run's nats-server (:${nats.port}) and database ${dbName}; ${CLUSTERS} clusters → one edge Proxy (loopback gRPC, this process) → one kube-double`);
  log(`load: ${CLUSTERS} clusters × ${OBJECTS} objects (${KINDS.length} kinds × ${NAMESPACES.length} namespaces), ${CONCURRENCY} checks in flight; 1 warm-up round + ${ROUNDS} measured`);
  await round();
  reads = 0;
  failures = 0;
  const a = sample(watched());
  const t0 = performance.now();
  for (let r = 0; r < ROUNDS; r++) await round();
  const seconds = (performance.now() - t0) / 1000;
  const b = sample(watched());
  const d = diff(a, b);
  const objects = CLUSTERS * OBJECTS * ROUNDS;
  let hubSeconds = 0;
  log("CPU seconds over the measured rounds:");
  for (const row of d.rows.sort((x, y) => y.seconds - x.seconds)) {
    log(`  ${row.label.padEnd(40)} ${row.seconds.toFixed(2)}`);
    if (row.where === "hub") hubSeconds += row.seconds;
  }
  log(`  machine busy (all processes, other sessions too) ${d.machine.busy.toFixed(2)} over ${d.wallSeconds.toFixed(2)} s wall`);
  const result = {
    bench: "drift",
    clusters: CLUSTERS,
    objects: OBJECTS,
    rounds: ROUNDS,
    checked_objects: objects,
    seconds: Math.round(seconds * 100) / 100,
    objects_per_s: Math.round(objects / seconds),
    hub_cpu_ms_per_object: Math.round(((hubSeconds * 1000) / objects) * 1000) / 1000,
    reads_per_check: Math.round((reads / (CLUSTERS * ROUNDS)) * 10) / 10,
    failures,
  };
  log(`RESULT ${JSON.stringify(result)}`);
  process.exitCode = failures > 0 ? 1 : 0;
} finally {
  for (const c of cleanups) await Promise.resolve().then(c).catch(() => undefined);
}
