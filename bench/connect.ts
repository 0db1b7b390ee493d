/**
 * `npm run bench -- connect`: from starting `edge bootstrap` to the hub
 * reporting the cluster CONNECTED, over BENCH_RUNS (≥ 10) fresh clusters.
 * Target: p50 ≤ 1,000 ms.
 *
 * As `helm install` does it, the agent (`edge run`, in its own network
 * namespace) is already up and polling for its Secret when the clock starts;
 * bootstrap runs in-process (the Job pod's start-up is not the protocol's
 * cost). The hub is the real gateway + invite + peering, peering with its
 * WireGuard node (PEERING_WG) in the hub namespace. Needs root and
 * wireguard-go; ends with one `RESULT {...}` line.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { EDGE_USER, defaultPolicy, startKubeDouble } from "@daalu/kube-double";
import { createLogger } from "@daalu/runtime";
import { setup } from "@daalu/testing";
import { bootstrap, KubeAccess, loadConfig, type BootstrapConfig } from "@daalu/edge";
import { startEdgeRun, WG_PORT } from "../e2e/edge-host.js";
import { startHubStack } from "../e2e/hub-stack.js";
import { e2eSkipReason, HUB_UNDERLAY_IP, Netns } from "../e2e/netns.js";

const RUNS = Math.max(10, Number(process.env["BENCH_RUNS"] ?? 10));
const TIMEOUT_MS = 20_000;

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function result(r: Record<string, unknown>): void {
  process.stdout.write(`RESULT ${JSON.stringify({ bench: "connect", ...r })}\n`);
}

async function main(): Promise<number> {
  const skip = e2eSkipReason();
  if (skip) {
    process.stdout.write(`connect: cannot run: ${skip}\n`);
    result({ skipped: skip });
    return 3;
  }
  const env = await setup();
  const net = await Netns.create(1);
  const kube = await startKubeDouble();
  const dir = mkdtempSync(path.join(tmpdir(), "bench-connect-"));
  const cleanups: Array<() => Promise<unknown>> = [() => env.cleanup(), () => net.cleanup(), () => kube.close(), async () => rmSync(dir, { recursive: true, force: true })];
  try {
    await net.hub.forwardUrls(env.databaseUrl, env.natsUrl);
    const hub = await startHubStack(env, net.dir, {
      hubEndpoint: `${HUB_UNDERLAY_IP}:${WG_PORT}`,
      peeringEnv: { PEERING_WG: "true", PEERING_WG_INTERFACE: net.ifname("dh"), PEERING_WG_BACKEND: "wireguard-go", PEERING_WG_PORT: String(WG_PORT), PEERING_HEALTH_INTERVAL: "100ms", PEERING_PROBE_INTERVAL: "200ms" },
      peeringIn: net.hub,
    });
    cleanups.unshift(() => hub.stop());
    if (!hub.process("peering").output().includes("hub WireGuard node started")) {
      const why = "peering does not start the hub WireGuard node (PEERING_WG not wired into peering yet)";
      process.stdout.write(`connect: cannot run: ${why}\n`);
      result({ skipped: why });
      return 3;
    }
    kube.setRbac(EDGE_USER, [...defaultPolicy()[EDGE_USER]!, { apiGroups: [""], resources: ["secrets"], verbs: ["get"], namespaces: ["daalu-edge"] }]);
    const bootKubeconfig = path.join(dir, "bootstrap.yaml");
    writeFileSync(bootKubeconfig, kube.kubeconfig({ token: "bootstrap-token", namespace: "daalu-edge" }));
    const edgeKubeconfig = path.join(net.dir, "edge.yaml");
    writeFileSync(edgeKubeconfig, kube.kubeconfig({ token: "edge-token", namespace: "daalu-edge" }));
    const [edgeHost] = net.edges;
    await edgeHost!.forward(kube.port, { host: "127.0.0.1", port: kube.port });
    const logger = createLogger("bench", "silent");

    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const secretName = `bench-tunnel-${i}`;
      const created = await hub.api("POST", "/v1/clusters", { name: `bench-${i}` });
      if (created.status !== 201) throw new Error(`create cluster: ${created.status} ${JSON.stringify(created.body)}`);
      const clusterId = created.body.cluster.id as string;
      const agent = startEdgeRun(edgeHost!, {
        EDGE_KUBECONFIG: edgeKubeconfig,
        EDGE_NAMESPACE: "daalu-edge",
        EDGE_SECRET_NAME: secretName,
        EDGE_WG_INTERFACE: net.ifname("de"),
        EDGE_PROBE_ADDR: "127.0.0.1:8081",
        EDGE_RETRY_BACKOFF: "50ms",
        EDGE_RETRY_BACKOFF_MAX: "100ms",
        LOG_LEVEL: process.env["BENCH_DEBUG"] ? "info" : "warn",
      });
      // Wait until the agent is in its "waiting for the Secret" loop, as the Deployment is while the Job runs.
      const waitStart = performance.now();
      while (!agent.output().includes("does not exist yet")) {
        if (performance.now() - waitStart > TIMEOUT_MS) throw new Error(`run ${i}: the agent never reached its Secret loop:\n${agent.output().slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const cfg = loadConfig("bootstrap", {
        EDGE_KUBECONFIG: bootKubeconfig,
        EDGE_NAMESPACE: "daalu-edge",
        EDGE_SECRET_NAME: secretName,
        EDGE_HUB_URL: hub.gatewayUrl,
        EDGE_BOOTSTRAP_TOKEN: created.body.token as string,
      }) as BootstrapConfig;
      const t0 = performance.now();
      await bootstrap(cfg, logger, { store: await KubeAccess.open(cfg.kube) });
      for (;;) {
        const st = String((await hub.api("GET", `/v1/clusters/${clusterId}`)).body.cluster.status).toUpperCase();
        if (st === "CONNECTED") break;
        if (performance.now() - t0 > TIMEOUT_MS) throw new Error(`run ${i}: not CONNECTED after ${TIMEOUT_MS} ms (status ${st}):\n${agent.output().slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const ms = performance.now() - t0;
      times.push(ms);
      process.stdout.write(`run ${i + 1}/${RUNS}: bootstrap → CONNECTED ${ms.toFixed(0)} ms\n`);
      if (process.env["BENCH_DEBUG"]) {
        const wall0 = Date.now() - ms;
        for (const l of agent.output().split("\n").filter(Boolean)) {
          try {
            const j = JSON.parse(l) as { time: string; msg: string };
            const at = Date.parse(j.time) - wall0;
            if (at > -500) process.stdout.write(`  ${at.toFixed(0).padStart(6)} ms  ${j.msg}\n`);
          } catch {
            // not JSON
          }
        }
      }
      await agent.stop();
      await hub.api("DELETE", `/v1/clusters/${clusterId}`);
    }
    const sorted = [...times].sort((a, b) => a - b);
    const p50 = Math.round(pct(sorted, 50));
    const p95 = Math.round(pct(sorted, 95));
    process.stdout.write(`bootstrap → connected over ${RUNS} runs: p50 ${p50} ms, p95 ${p95} ms, min ${Math.round(sorted[0]!)} ms, max ${Math.round(sorted.at(-1)!)} ms (target p50 ≤ 1000 ms)\n`);
    result({ bootstrap_to_connected_ms_p50: p50, p95, runs: RUNS });
    return 0;
  } finally {
    for (const c of cleanups) await c().catch(() => undefined);
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`connect: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
