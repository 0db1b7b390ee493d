/**
 * Calls through the tunnel (issue 4): `kubectl get pods` as HTTP, through
 * gateway -> NATS -> tunnel-proxy -> WireGuard -> edge -> API server, versus
 * the same call straight to the API server, in one run, at fixed concurrency.
 *
 *   npm run bench -- proxy [--n 5000] [--warmup 500] [--concurrency 64] [--c1-n 1000] [--idle-seconds 3] [--max-seconds 300] [--loopback] [--tsx]
 *
 * Every service is its own process, as in production (bench/lib/proxy-world.ts
 * builds the topology and prints it): by default the hub and the edge are
 * network namespaces joined by real WireGuard (wireguard-go), which needs root
 * and wireguard-go; `--loopback` runs the same processes without WireGuard
 * (the tunnel-proxy reaches the edge's gRPC server on 127.0.0.1), to show what
 * WireGuard itself costs. The load generator is this process: the direct and
 * the tunnel calls use the same client code, TLS, headers (kubectl's Table
 * Accept) and number of keep-alive connections.
 *
 * The hub's services and the edge run compiled, as the images run them
 * (scripts/build.sh, run once at the start; `node --conditions=daalu-dist
 * --enable-source-maps <workspace>/dist/main.js`); `--tsx` (or BENCH_TSX=1)
 * runs them from source through tsx instead, as the tests do (no build; tsx's
 * loader and wrappers cost CPU per call that production does not pay).
 *
 * Two loads in one run: `--n` calls at `--concurrency` callers (what a hub
 * node costs under load), then `--c1-n` calls at one caller (what a person
 * running kubectl waits for; `--c1-n 0` skips it), each direct then through
 * the tunnel, and `--idle-seconds` without calls (what each process spends
 * doing nothing: at one caller a call lasts long enough for that to count).
 * Prints per-phase latency, then the CPU seconds each process
 * used during each phase (/proc/<pid>/stat: the services, wireguard-go, this
 * run's nats-server, the PostgreSQL backends of this run's database split by
 * the service that opened them, test plumbing, this process) beside the
 * machine's busy time, and ends with one line (ms, CPU ms per tunnel call):
 *   RESULT {"bench":"proxy",…,"overhead_p50_ms":…,"overhead_p99_ms":…,"overhead_p50_ms_c1":…,"overhead_p99_ms_c1":…,
 *           "hub_cpu_ms_per_call":…,"edge_cpu_ms_per_call":…,"calls_per_s":…,"audit_rows_missing":0}
 * overhead_* = tunnel minus direct at the same percentile in the same run;
 * hub_cpu_ms_per_call = gateway + nats-server + tunnel-proxy + audit + the
 * audit writer's PostgreSQL backends (HUB below), edge_cpu_ms_per_call = the
 * edge agent (EDGE below), both over the `--concurrency` tunnel phase (the
 * `_c1` twins over the one-caller phase); WireGuard, the API server, test
 * plumbing and the load generator are in neither. audit_rows_missing counts
 * tunnel calls (warm-ups included) without a row in audit.calls once the
 * writer settled. Exit code 1 when it is not 0 or a call failed; 3 (with
 * `RESULT {"bench":"proxy","skipped":…}`) when the WireGuard path cannot run
 * here.
 */
import { cpus, loadavg } from "node:os";
import pg from "pg";
import { e2eSkipReason } from "../e2e/netns.js";
import { log, pct, r2, r3, runMain } from "./lib/bench-cli.js";
import { diff, sample, sumOf, type Sample } from "./lib/cpu.js";
import { buildOnce } from "./lib/build.js";
import { EDGE, failed, HUB, kubectlGet, load as loadFor, namedWatch, PATH, proxyArgs, reportPhase as report, settledCount, type Phase } from "./lib/proxy-load.js";
import { startProxyWorld } from "./lib/proxy-world.js";

const { n: N, warmup: WARMUP, concurrency: CONCURRENCY, nC1: N_C1, idleSeconds: IDLE_S, loopback: LOOPBACK, deadline } = proxyArgs(300);
const TSX = process.argv.includes("--tsx") || process.env["BENCH_TSX"] === "1";

const load = (count: number, call: () => Promise<number>, callers = CONCURRENCY): Promise<Phase> => loadFor(count, call, callers, deadline);

/**
 * The CPU table: per process, seconds in the direct and the tunnel phase at
 * --concurrency, CPU ms per tunnel call there and (when run) at one caller.
 * Returns the HUB and EDGE sums in ms per call for both.
 */
function cpuReport(d0: Sample, d1: Sample, t1: Sample, c1?: { a: Sample; b: Sample; n: number }, idle?: { a: Sample; b: Sample }): { hub: number; edge: number; hubC1?: number; edgeC1?: number } {
  const direct = diff(d0, d1);
  const tunnel = diff(d1, t1);
  const one = c1 ? diff(c1.a, c1.b) : undefined;
  const directBy = new Map(direct.rows.map((r) => [r.label, r.seconds]));
  const oneBy = new Map(one?.rows.map((r) => [r.label, r.seconds]));
  const still = idle ? diff(idle.a, idle.b) : undefined;
  const idleBy = new Map(still?.rows.map((r) => [r.label, r.seconds]));
  const idleMs = (s: number | undefined) => (still && s !== undefined ? ((s * 1000) / still.wallSeconds).toFixed(1) : "");
  const rows = [...tunnel.rows].sort((a, b) => b.seconds - a.seconds);
  const listed = rows.reduce((s, r) => s + r.seconds, 0);
  const w = Math.max(...rows.map((r) => r.label.length), 28);
  const msC1 = (s: number | undefined) => (one && s !== undefined ? ((s * 1000) / c1!.n).toFixed(3) : "");
  const line = (label: string, where: string, ds: string, ts: string, perCall: string, cores: string, c1s = "", idles = "") =>
    log(`  ${label.padEnd(w)} ${where.padEnd(11)} ${ds.padStart(9)} ${ts.padStart(9)} ${perCall.padStart(10)} ${cores.padStart(6)}${one ? ` ${c1s.padStart(12)}` : ""}${still ? ` ${idles.padStart(12)}` : ""}`);
  log(`CPU seconds per process (utime+stime from /proc/<pid>/stat; direct phase ${r2(direct.wallSeconds)} s, tunnel phase ${r2(tunnel.wallSeconds)} s wall, ${N} calls each at ${CONCURRENCY} callers${one ? `; one-caller tunnel phase ${r2(one.wallSeconds)} s wall, ${c1!.n} calls` : ""}):`);
  line("process", "where", "direct s", "tunnel s", "ms/call", "cores", "ms/call @1", "idle ms/s");
  for (const r of rows) line(r.label, r.where, (directBy.get(r.label) ?? 0).toFixed(2), r.seconds.toFixed(2), ((r.seconds * 1000) / N).toFixed(3), (r.seconds / tunnel.wallSeconds).toFixed(2), msC1(oneBy.get(r.label) ?? 0), idleMs(idleBy.get(r.label) ?? 0));
  line("sum of the processes above", "", direct.rows.reduce((s, r) => s + r.seconds, 0).toFixed(2), listed.toFixed(2), ((listed * 1000) / N).toFixed(3), (listed / tunnel.wallSeconds).toFixed(2), msC1(one?.rows.reduce((s, r) => s + r.seconds, 0)));
  const hub = sumOf(tunnel.rows, HUB), edge = sumOf(tunnel.rows, EDGE);
  line("HUB (sum, see below)", "", sumOf(direct.rows, HUB).toFixed(2), hub.toFixed(2), ((hub * 1000) / N).toFixed(3), (hub / tunnel.wallSeconds).toFixed(2), msC1(one ? sumOf(one.rows, HUB) : undefined), idleMs(still ? sumOf(still.rows, HUB) : undefined));
  line("EDGE (sum, see below)", "", sumOf(direct.rows, EDGE).toFixed(2), edge.toFixed(2), ((edge * 1000) / N).toFixed(3), (edge / tunnel.wallSeconds).toFixed(2), msC1(one ? sumOf(one.rows, EDGE) : undefined), idleMs(still ? sumOf(still.rows, EDGE) : undefined));
  line("machine busy (/proc/stat)", "all", direct.machine.busy.toFixed(2), tunnel.machine.busy.toFixed(2), ((tunnel.machine.busy * 1000) / N).toFixed(3), (tunnel.machine.busy / tunnel.wallSeconds).toFixed(2), msC1(one?.machine.busy));
  line("  of which softirq", "all", direct.machine.softirq.toFixed(2), tunnel.machine.softirq.toFixed(2), ((tunnel.machine.softirq * 1000) / N).toFixed(3), (tunnel.machine.softirq / tunnel.wallSeconds).toFixed(2), msC1(one?.machine.softirq));
  log(`  HUB = ${HUB.join(" + ")}: hub_cpu_ms_per_call; EDGE = ${EDGE.join(" or ")}: edge_cpu_ms_per_call`);
  if (still) log(`  idle ms/s: CPU ms per second over ${r2(still.wallSeconds)} s without calls (timers, heartbeats, polls); at one caller each call lasts long enough for that to show in ms/call @1`);
  log("  (machine busy also holds whatever else ran on the box meanwhile, and kernel work not charged to a process;");
  log(`   /proc counts CPU in clock ticks (10 ms): a per-call figure is good to about ${r3(10 / N)} ms per process at ${CONCURRENCY} callers${one ? ` and ${r3(10 / c1!.n)} ms at one` : ""})`);
  return {
    hub: (hub * 1000) / N,
    edge: (edge * 1000) / N,
    ...(one ? { hubC1: (sumOf(one.rows, HUB) * 1000) / c1!.n, edgeC1: (sumOf(one.rows, EDGE) * 1000) / c1!.n } : {}),
  };
}

async function main(): Promise<number> {
  if (!LOOPBACK) {
    const skip = e2eSkipReason();
    if (skip) {
      log(`proxy: cannot run the WireGuard path: ${skip}. \`npm run bench -- proxy --loopback\` measures the path without WireGuard.`);
      log(`RESULT ${JSON.stringify({ bench: "proxy", skipped: skip })}`);
      return 3;
    }
  }
  // BENCH_BUILD=0: run the dist/ already built (several runs of one tree in a row).
  if (!TSX && process.env["BENCH_BUILD"] !== "0") buildOnce();
  log(`proxy bench: n=${N} warmup=${WARMUP} concurrency=${CONCURRENCY} c1-n=${N_C1} path=GET ${PATH} (Table, as kubectl get pods); starting the ${LOOPBACK ? "loopback" : "WireGuard"} topology, ${TSX ? "services through tsx" : "services compiled"}…`);
  const world = await startProxyWorld({ wireguard: !LOOPBACK, concurrency: CONCURRENCY, compiled: !TSX });
  try {
    for (const l of world.topology) log(l);
    const callDirect = kubectlGet(world.apiServer, PATH, "edge-proxy-token");
    const callTunnel = kubectlGet(world.gateway, `/k8s/clusters/${world.clusterId}${PATH}`, world.viewerToken);

    const db = new pg.Client({ connectionString: world.databaseUrl });
    await db.connect();
    const watched = namedWatch(world, db);

    await load(WARMUP, callDirect);
    const w = await load(WARMUP, callTunnel);
    if (w.failures) throw new Error(`${w.failures} warm-up calls through the tunnel failed${failed(w)}\n${world.logs()}`);
    log(`load average before the timed phases: ${loadavg().map((x) => x.toFixed(2)).join(" ")} (${cpus().length} cores)`);
    const s0 = sample(await watched());
    const d = await load(N, callDirect);
    const s1 = sample(await watched());
    const monoT0 = process.hrtime.bigint() / 1000n;
    const t = await load(N, callTunnel);
    if (process.env["DAALU_CPU_PROF_DIR"]) log(`profile window of the ${CONCURRENCY}-caller tunnel phase (monotonic µs): ${monoT0} ${process.hrtime.bigint() / 1000n}`);
    const s2 = sample(await watched());
    const dp50 = pct(d.ms, 50), dp99 = pct(d.ms, 99), tp50 = pct(t.ms, 50), tp99 = pct(t.ms, 99);
    report("direct", d, CONCURRENCY);
    report("tunnel", t, CONCURRENCY);
    // One caller: what a person running kubectl waits for, and what an idle path costs per call.
    let c1: { d: Phase; t: Phase; a: Sample; b: Sample } | undefined;
    if (N_C1 > 0) {
      const dc1 = await load(N_C1, callDirect, 1);
      const a = sample(await watched());
      const mono0 = process.hrtime.bigint() / 1000n;
      const tc1 = await load(N_C1, callTunnel, 1);
      const b = sample(await watched());
      // DAALU_CPU_PROF_DIR: the services' profiles use the same monotonic clock; this window is the one-caller tunnel phase.
      if (process.env["DAALU_CPU_PROF_DIR"]) log(`profile window of the one-caller tunnel phase (monotonic µs): ${mono0} ${process.hrtime.bigint() / 1000n}`);
      c1 = { d: dc1, t: tc1, a, b };
      report("direct", dc1, 1);
      report("tunnel", tc1, 1);
    }
    let idle: { a: Sample; b: Sample } | undefined;
    if (IDLE_S > 0) {
      const a = sample(await watched());
      await new Promise((r) => setTimeout(r, IDLE_S * 1000));
      idle = { a, b: sample(await watched()) };
    }
    const failures = d.failures + t.failures + (c1 ? c1.d.failures + c1.t.failures : 0);
    if (t.failures || c1?.t.failures) process.stderr.write(`tunnel calls failed; recent output of the edge and the tunnel-proxy:\n${world.logs("edge")}\n${world.logs("tunnel-proxy")}\n`);
    const cpu = cpuReport(s0, s1, s2, c1 ? { a: c1.a, b: c1.b, n: N_C1 } : undefined, idle);

    const expected = WARMUP + N + N_C1;
    const rows = await settledCount(async () => (await db.query("select count(*)::int as n from audit.calls where cluster_id = $1", [world.clusterId])).rows[0].n, expected);
    await db.end();
    const missing = Math.max(0, expected - rows);
    log(`audit rows: ${rows} for ${expected} tunnel calls (extra ${Math.max(0, rows - expected)})`);
    if (missing) process.stderr.write(`audit rows are missing; the audit service's recent output:\n${world.logs("audit")}\n`);
    const c1p = (p: Phase, q: number) => pct(p.ms, q);
    const result = {
      bench: "proxy",
      mode: world.mode,
      build: TSX ? "tsx" : "compiled",
      concurrency: CONCURRENCY,
      n: N,
      direct_p50_ms: r2(dp50),
      tunnel_p50_ms: r2(tp50),
      overhead_p50_ms: r2(tp50 - dp50),
      overhead_p99_ms: r2(tp99 - dp99),
      ...(c1
        ? {
            n_c1: N_C1,
            direct_p50_ms_c1: r2(c1p(c1.d, 50)),
            tunnel_p50_ms_c1: r2(c1p(c1.t, 50)),
            overhead_p50_ms_c1: r2(c1p(c1.t, 50) - c1p(c1.d, 50)),
            overhead_p99_ms_c1: r2(c1p(c1.t, 99) - c1p(c1.d, 99)),
            calls_per_s_c1: Math.round(N_C1 / c1.t.seconds),
          }
        : {}),
      hub_cpu_ms_per_call: r3(cpu.hub),
      edge_cpu_ms_per_call: r3(cpu.edge),
      ...(cpu.hubC1 !== undefined ? { hub_cpu_ms_per_call_c1: r3(cpu.hubC1), edge_cpu_ms_per_call_c1: r3(cpu.edgeC1!) } : {}),
      calls_per_s: Math.round(N / t.seconds),
      audit_rows_missing: missing,
    };
    log(`RESULT ${JSON.stringify(result)}`);
    return missing === 0 && failures === 0 ? 0 : 1;
  } finally {
    await world.stop();
  }
}

runMain(main);
