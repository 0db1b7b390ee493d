/**
 * `npm run bench -- failover`: hub-node failover (issue 14) under load,
 * BENCH_KILLS (≥ 5) kills in a row. The world is e2e/failover-world.ts:
 * BENCH_HUBS (2) hub nodes, each its own namespace running peering
 * (PEERING_WG=on, PEERING_NODE_ID) and a tunnel-proxy, BENCH_EDGES (3) edges
 * with the production edge timers, one sequential GET caller per cluster
 * through the gateway's /k8s the whole time.
 *
 * Each round: the node carrying the clusters dies (BENCH_HOW: `kill` =
 * SIGKILL of everything in its namespace, wireguard-go included; `cut` = its
 * link down; `both` alternates), the clock runs from the kill until every one
 * of its clusters shows another home node, CONNECTED, and answers a call
 * (the round's re-home time is its slowest cluster's); then the node comes
 * back (restarted, or its link up) and the next round kills whichever node
 * carries the clusters then.
 *
 * Before the first kill, a quiet phase (BENCH_STEADY_S, 5 s) measures the load
 * itself: calls/s, one caller's call latency, and CPU ms per call of each hub
 * and edge process. Ends with
 *   RESULT {"bench":"failover","kills":…,"rehome_ms_p50":…,"rehome_ms_max":…,"failed_calls":…,"audit_rows_missing":0,…}
 * failed_calls: calls not answered 2xx during the whole run (the kills' windows).
 * Each round prints where its time went (bench/lib/failover-phases.ts: edge
 * moved, new node claimed, its tunnel-proxy serving, call answered; steps_ms_p50
 * in the RESULT) and, when a call came more than 1 s after the tunnel was
 * served, the load's calls and the tunnel-proxy's warnings of that window.
 * The restored node is awaited (heartbeat live, every edge's peer on its
 * device: bench/lib/failover-node.ts) before the next round.
 * Needs root and wireguard-go, and peering's home nodes (Cluster.home_node).
 */
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { diff, sample, type Watched } from "./lib/cpu.js";
import { medianPhases, phases, slowTail, type Phases } from "./lib/failover-phases.js";
import { nodeBack } from "./lib/failover-node.js";
import { allConnected, auditRowsMissing, homeNodeMissing, rehomed, startFailoverWorld, startLoad, watchHomes, type FailoverCluster, type FailoverWorld } from "../e2e/failover-world.js";
import { e2eSkipReason } from "../e2e/netns.js";

const KILLS = Math.max(5, Number(process.env["BENCH_KILLS"] ?? 5));
const HUBS = Math.max(2, Number(process.env["BENCH_HUBS"] ?? 2));
const EDGES = Math.max(1, Number(process.env["BENCH_EDGES"] ?? 3));
const HOW = (process.env["BENCH_HOW"] ?? "kill") as "kill" | "cut" | "both";
const STEADY_S = Math.max(2, Number(process.env["BENCH_STEADY_S"] ?? 5));

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;
}

/** The machine's load average (1, 5, 15 min): the figures depend on what else ran on the 2 cores. */
function loadavg(): string {
  return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
}

function result(r: Record<string, unknown>): void {
  process.stdout.write(`RESULT ${JSON.stringify({ bench: "failover", ...r })}\n`);
}

/** Hub processes (by stack name) and the edge agents, for CPU per call. */
function watched(w: FailoverWorld): Watched[] {
  const out: Watched[] = [];
  for (const p of w.hub.processes) if (p.child.pid && p.child.exitCode === null && p.child.signalCode === null) out.push({ label: p.name, where: "hub", pid: p.child.pid });
  w.clusters.forEach((c, i) => c.agent.child.pid && out.push({ label: `edge-${i + 1}`, where: "edge", pid: c.agent.child.pid }));
  return out;
}

/** The node carrying most clusters now. */
async function carrier(w: FailoverWorld): Promise<number> {
  const counts = new Map<string, number>();
  for (const c of w.clusters) {
    const h = (await w.view(c.id)).homeNode;
    counts.set(h, (counts.get(h) ?? 0) + 1);
  }
  const [node] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]!;
  const i = w.nodeIds.indexOf(node);
  if (i < 0) throw new Error(`no cluster has a home node (${[...counts.keys()].join(", ")})`);
  return i;
}

async function main(): Promise<number> {
  const skip = e2eSkipReason() ?? homeNodeMissing();
  if (skip) {
    process.stdout.write(`failover: cannot run: ${skip}\n`);
    result({ skipped: skip });
    return 3;
  }
  const w = await startFailoverWorld({ hubs: HUBS, edges: EDGES });
  try {
    await allConnected(w);
    const load = startLoad(w);
    // Every cluster's home node, polled the whole run: a cluster carried by two nodes at once fails the bench.
    const homesWatch = watchHomes(w);
    try {
      // Quiet phase: the load alone.
      const s0 = sample(watched(w));
      const n0 = load.calls.length;
      await new Promise((r) => setTimeout(r, STEADY_S * 1000));
      const steady = load.calls.slice(n0);
      const cpu = diff(s0, sample(watched(w)));
      const perCall = Object.fromEntries(cpu.rows.map((r) => [r.label, Number(((r.seconds * 1000) / Math.max(1, steady.length)).toFixed(3))]));
      const callMs = steady.map((c) => c.ms).sort((a, b) => a - b);
      const callsPerS = steady.length / cpu.wallSeconds;
      process.stdout.write(`steady: ${steady.length} calls in ${cpu.wallSeconds.toFixed(1)} s (${callsPerS.toFixed(1)}/s, ${EDGES} callers), one caller's call p50 ${pct(callMs, 50)} ms p95 ${pct(callMs, 95)} ms\n`);
      process.stdout.write(`CPU ms per call: ${JSON.stringify(perCall)}\n`);

      const loadBefore = loadavg();
      const rounds: Array<{ node: string; how: string; ms: number; perCluster: number[] }> = [];
      const steps: Phases[] = [];
      for (let k = 0; k < KILLS; k++) {
        const how = HOW === "both" ? (k % 2 === 0 ? "kill" : "cut") : HOW;
        const victim = await carrier(w);
        const node = w.nodeIds[victim]!;
        const carried: FailoverCluster[] = [];
        for (const c of w.clusters) if ((await w.view(c.id)).homeNode === node) carried.push(c);
        const t0 = performance.now();
        const from = Date.now();
        await w.killNode(victim, how);
        const perCluster = await Promise.all(carried.map((c) => rehomed(w, c.id, node, from)));
        const ms = Math.max(...perCluster);
        rounds.push({ node, how, ms, perCluster });
        const homes = await Promise.all(carried.map(async (c) => w.nodeIds.indexOf((await w.view(c.id)).homeNode)));
        const roundSteps = carried.map((c, j) => phases(w, w.clusters.indexOf(c), homes[j]!, from, perCluster[j]!));
        steps.push(...roundSteps);
        const slow = carried.map((c, j) => slowTail(w, load, w.clusters.indexOf(c), homes[j]!, from, roundSteps[j]!)).filter(Boolean);
        process.stdout.write(`kill ${k + 1}/${KILLS}: ${node} (${how}) → ${carried.length} clusters re-homed in ${perCluster.join(", ")} ms (wall ${(performance.now() - t0).toFixed(0)} ms); failed calls so far ${load.calls.length - load.ok()}\n`);
        process.stdout.write(`  steps (ms after the kill: edge moved, new node claimed, its tunnel-proxy serving, call answered): ${roundSteps.map((p) => `${p.edgeMoved ?? "?"}/${p.claimed ?? "?"}/${p.served ?? "?"}/${p.answered}`).join("  ")}\n`);
        for (const s of slow) process.stdout.write(`  slow after served: ${s}\n`);
        await w.restoreNode(victim, how);
        // The restored node must be able to take the next round's clusters: its heartbeat live and every edge's peer on its device.
        await nodeBack(w, victim);
      }
      await load.stop();
      await homesWatch.stop();
      const missing = await auditRowsMissing(w, load);
      const stepsP50 = medianPhases(steps);
      process.stdout.write(`steps p50 over ${steps.length} re-homes (ms after the kill): ${JSON.stringify(stepsP50)}; load average before ${loadBefore}, after ${loadavg()}\n`);
      const times = rounds.map((r) => r.ms).sort((a, b) => a - b);
      const failed = load.calls.length - load.ok();
      process.stdout.write(`re-home over ${KILLS} kills: p50 ${pct(times, 50)} ms, max ${times.at(-1)} ms (limit 30000 ms); ${load.ok()} calls answered, ${failed} failed; audit rows missing ${missing}\n`);
      for (const v of homesWatch.violations) process.stdout.write(`two homes: ${v}\n`);
      result({
        kills: KILLS,
        rehome_ms_p50: pct(times, 50),
        rehome_ms_max: times.at(-1),
        failed_calls: failed,
        audit_rows_missing: missing,
        two_homes_seen: homesWatch.violations.length,
        home_polls: homesWatch.polls,
        hubs: HUBS,
        edges: EDGES,
        how: HOW,
        calls: load.calls.length,
        calls_per_s: Number(callsPerS.toFixed(1)),
        one_caller_call_ms_p50: pct(callMs, 50),
        cpu_ms_per_call: perCall,
        steps_ms_p50: stepsP50,
        loadavg_before: loadBefore,
        loadavg_after: loadavg(),
      });
      return missing === 0 && homesWatch.violations.length === 0 ? 0 : 1;
    } finally {
      await load.stop();
      await homesWatch.stop();
    }
  } finally {
    await w.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`failover: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
