/**
 * Sessions through the tunnel (issue 13): bulk port-forward throughput and
 * the round trip of a 1-byte exec echo, through gateway (TLS) -> NATS duplex
 * stream -> tunnel-proxy -> edge Session RPC (over WireGuard) -> API server,
 * versus the same sessions straight to the same API server, in one run.
 *
 *   npm run bench -- portforward [--mib 256] [--runs 3] [--samples 1000] [--warmup 100]
 *                                [--mode wireguard|loopback] [--max-seconds 600]
 *
 * The topology is bench proxy's (bench/lib/proxy-world.ts; printed), with the
 * API server double also serving the sessions (kube-api.ts
 * BENCH_KUBE_SESSIONS: exec and port-forward allowed to the edge's proxy
 * account, port 80 of default/nginx forwarded to a blob server in the API
 * server's process). The client is this process, speaking the WebSocket
 * protocols itself (bench/lib/kube-sessions.ts), with the same code, TLS and
 * socket options for both paths:
 * - throughput: `--runs` port-forward sessions per path, each downloading
 *   `--mib` MiB (timed from the request to the last byte); the median run;
 * - exec: one `cat` session per path, `--warmup` then `--samples` 1-byte
 *   echoes at one caller (send, wait for the echo, send the next).
 * `--mode loopback` runs the same processes without WireGuard (the edge's gRPC
 * server on 127.0.0.1), for quick runs. Prints every run, a CPU table (CPU
 * seconds per process from /proc for each phase; ms per MiB in the download
 * phases, ms per echo in the exec phases) and ends with one line:
 *   RESULT {"bench":"portforward","direct_mb_s":…,"tunnel_mb_s":…,"ratio":…,"exec_rtt_p50_ms":…,"exec_rtt_p99_ms":…,…}
 * *_mb_s are MiB/s (2^20 bytes); ratio = tunnel / direct; exec_rtt_* are
 * through the tunnel, direct_exec_rtt_* straight to the API server,
 * exec_overhead_* their difference at the same percentile. hub_cpu_ms_per_mib
 * = gateway + nats-server + tunnel-proxy + audit, edge_cpu_ms_per_mib = the
 * edge agent, over the tunnel download phase (`_per_echo` over the tunnel
 * exec phase). Targets (issue 13): ratio >= 0.5, exec_overhead_p50_ms <= 2.
 * Exit 1 on a failed session; 3 (RESULT with "skipped") when the WireGuard
 * path cannot run here.
 */
import { cpus, loadavg } from "node:os";
import { e2eSkipReason } from "../e2e/netns.js";
import { log, numArg, pct, r2, r3, runMain } from "./lib/bench-cli.js";
import { diff, sample, sumOf, type Sample } from "./lib/cpu.js";
import { download, echoRtts, type SessionTarget } from "./lib/kube-sessions.js";
import { startProxyWorld } from "./lib/proxy-world.js";

const MIB = numArg("mib", 256);
const RUNS = Math.max(1, numArg("runs", 3));
const SAMPLES = Math.max(1, numArg("samples", 1000));
const WARMUP = numArg("warmup", 100);
const MAX_SECONDS = numArg("max-seconds", 600);
const modeAt = process.argv.indexOf("--mode");
const MODE = modeAt >= 0 ? process.argv[modeAt + 1] : "wireguard";
if (MODE !== "wireguard" && MODE !== "loopback") throw new Error("--mode must be wireguard or loopback");
const median = (xs: number[]) => pct([...xs].sort((a, b) => a - b), 50);
/** CPU-table labels summed into hub_cpu_* (what a hub node spends, WireGuard aside). */
const HUB = ["gateway", "nats-server", "tunnel-proxy", "audit"];
/** … and into edge_cpu_* (the customer's cluster, WireGuard and the API server aside). */
const EDGE = ["edge run", "edge gRPC server (no WireGuard)"];


interface Phase {
  name: string;
  a: Sample;
  b: Sample;
  /** What the CPU is divided by (MiB downloaded, echoes) and its unit. */
  units: number;
  unit: string;
}

/** Per process: CPU seconds and ms per unit in each phase; returns HUB and EDGE ms per unit per phase. */
function cpuTable(phases: Phase[]): Map<string, { hub: number; edge: number }> {
  const ds = phases.map((p) => ({ p, d: diff(p.a, p.b) }));
  const labels = [...new Set(ds.flatMap(({ d }) => d.rows.map((r) => r.label)))];
  const by = ds.map(({ d }) => new Map(d.rows.map((r) => [r.label, r])));
  const w = Math.max(...labels.map((l) => l.length), 26);
  const cell = (s: string) => s.padStart(18);
  log(`CPU per process (utime+stime from /proc/<pid>/stat): seconds and ms per unit in each phase`);
  log(`  ${"process".padEnd(w)} ${"where".padEnd(11)}${ds.map(({ p }) => cell(p.name)).join("")}`);
  log(`  ${"".padEnd(w)} ${"".padEnd(11)}${ds.map(({ p, d }) => cell(`${r2(d.wallSeconds)} s, ms/${p.unit}`)).join("")}`);
  const row = (label: string, where: string, sec: (i: number) => number) =>
    log(`  ${label.padEnd(w)} ${where.padEnd(11)}${ds.map(({ p }, i) => cell(`${sec(i).toFixed(2)}  ${((sec(i) * 1000) / p.units).toFixed(3)}`)).join("")}`);
  const ordered = labels.sort((x, y) => (by.at(-1)!.get(y)?.seconds ?? 0) - (by.at(-1)!.get(x)?.seconds ?? 0));
  for (const l of ordered) row(l, by.find((m) => m.get(l))?.get(l)?.where ?? "", (i) => by[i]!.get(l)?.seconds ?? 0);
  row("HUB (sum)", "", (i) => sumOf(ds[i]!.d.rows, HUB));
  row("EDGE (sum)", "", (i) => sumOf(ds[i]!.d.rows, EDGE));
  row("machine busy (/proc/stat)", "all", (i) => ds[i]!.d.machine.busy);
  row("  of which softirq", "all", (i) => ds[i]!.d.machine.softirq);
  log(`  HUB = ${HUB.join(" + ")}; EDGE = ${EDGE.join(" or ")}`);
  log("  (/proc counts in 10 ms ticks; machine busy also holds whatever else ran on the box)");
  return new Map(ds.map(({ p, d }) => [p.name, { hub: (sumOf(d.rows, HUB) * 1000) / p.units, edge: (sumOf(d.rows, EDGE) * 1000) / p.units }]));
}

async function main(): Promise<number> {
  if (MODE === "wireguard") {
    const skip = e2eSkipReason();
    if (skip) {
      log(`portforward: cannot run the WireGuard path: ${skip}. \`npm run bench -- portforward --mode loopback\` measures the path without WireGuard.`);
      log(`RESULT ${JSON.stringify({ bench: "portforward", skipped: skip })}`);
      return 3;
    }
  }
  const deadline = setTimeout(() => {
    process.stderr.write(`portforward: exceeded --max-seconds ${MAX_SECONDS}\n`);
    process.exit(1);
  }, MAX_SECONDS * 1000);
  deadline.unref();
  log(`portforward bench: mib=${MIB} runs=${RUNS} samples=${SAMPLES} warmup=${WARMUP} mode=${MODE}; starting the topology…`);
  const world = await startProxyWorld({ wireguard: MODE === "wireguard", concurrency: 1, sessions: true });
  try {
    for (const l of world.topology) log(l);
    log("  sessions: this process speaks WebSocket (ws) itself: port-forward v4.channel.k8s.io to default/nginx:80 (a blob server in the API server's process), exec v5.channel.k8s.io `cat`");
    const direct: SessionTarget = { name: "direct", dial: () => world.dialApiServer(), prefix: "", token: "edge-proxy-token" };
    const tunnel: SessionTarget = { name: "tunnel", dial: () => world.dialGateway(), prefix: `/k8s/clusters/${world.clusterId}`, token: world.adminToken };
    const bytes = Math.round(MIB * 1024 * 1024);

    // Warm-up: connections, JIT, the edge's token, each path once.
    for (const t of [direct, tunnel]) {
      await download(t, 4 << 20);
      await echoRtts(t, 20, 0);
    }
    log(`load average before the timed phases: ${loadavg().map((x) => x.toFixed(2)).join(" ")} (${cpus().length} cores)`);

    const mibs: Record<string, number[]> = { direct: [], tunnel: [] };
    const opens: Record<string, number[]> = { direct: [], tunnel: [] };
    const phases: Phase[] = [];
    for (const t of [direct, tunnel]) {
      const a = sample(world.watched());
      for (let i = 0; i < RUNS; i++) {
        const r = await download(t, bytes);
        mibs[t.name]!.push(MIB / (r.ms / 1000));
        opens[t.name]!.push(r.openMs);
        log(`  ${t.name} download ${i + 1}/${RUNS}: ${MIB} MiB in ${r2(r.ms)} ms = ${r2(MIB / (r.ms / 1000))} MiB/s (session open ${r2(r.openMs)} ms)`);
      }
      phases.push({ name: `${t.name} download`, a, b: sample(world.watched()), units: MIB * RUNS, unit: "MiB" });
    }
    const rtts: Record<string, number[]> = {};
    for (const t of [direct, tunnel]) {
      const a = sample(world.watched());
      const ms = await echoRtts(t, SAMPLES, WARMUP);
      phases.push({ name: `${t.name} exec echo`, a, b: sample(world.watched()), units: SAMPLES + WARMUP, unit: "echo" });
      rtts[t.name] = ms;
      log(`  ${t.name} exec echo: ${SAMPLES} samples, p50 ${r3(pct(ms, 50))} ms  p90 ${r3(pct(ms, 90))} ms  p99 ${r3(pct(ms, 99))} ms  max ${r3(ms.at(-1)!)} ms`);
    }
    log(`load average after: ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
    const cpu = cpuTable(phases);

    const dMb = median(mibs["direct"]!), tMb = median(mibs["tunnel"]!);
    const d = rtts["direct"]!, t = rtts["tunnel"]!;
    const result = {
      bench: "portforward",
      mode: MODE,
      mib: MIB,
      runs: RUNS,
      direct_mb_s: r2(dMb),
      tunnel_mb_s: r2(tMb),
      ratio: r3(tMb / dMb),
      exec_rtt_p50_ms: r3(pct(t, 50)),
      exec_rtt_p99_ms: r3(pct(t, 99)),
      direct_exec_rtt_p50_ms: r3(pct(d, 50)),
      direct_exec_rtt_p99_ms: r3(pct(d, 99)),
      exec_overhead_p50_ms: r3(pct(t, 50) - pct(d, 50)),
      exec_overhead_p99_ms: r3(pct(t, 99) - pct(d, 99)),
      samples: SAMPLES,
      open_ms_direct: r2(median(opens["direct"]!)),
      open_ms_tunnel: r2(median(opens["tunnel"]!)),
      hub_cpu_ms_per_mib: r3(cpu.get("tunnel download")!.hub),
      edge_cpu_ms_per_mib: r3(cpu.get("tunnel download")!.edge),
      hub_cpu_ms_per_echo: r3(cpu.get("tunnel exec echo")!.hub),
      edge_cpu_ms_per_echo: r3(cpu.get("tunnel exec echo")!.edge),
      throughput_target_met: tMb / dMb >= 0.5,
      rtt_target_met: pct(t, 50) - pct(d, 50) <= 2,
      loadavg_1m: r2(loadavg()[0]!),
    };
    log(`RESULT ${JSON.stringify(result)}`);
    return 0;
  } catch (err) {
    process.stderr.write(`recent output of the services:\n${world.logs()}\n`);
    throw err;
  } finally {
    await world.stop();
  }
}

runMain(main);
