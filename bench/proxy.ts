/**
 * Calls through the tunnel (issue 4): `kubectl get pods` as HTTP, through
 * gateway -> NATS -> tunnel-proxy -> WireGuard -> edge -> API server, versus
 * the same call straight to the API server, in one run, at fixed concurrency.
 *
 *   npm run bench -- proxy [--n 5000] [--warmup 500] [--concurrency 64] [--max-seconds 300] [--loopback]
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
 * Prints per-phase latency, then the CPU seconds each process used during the
 * direct and the timed tunnel phase (/proc/<pid>/stat: the services,
 * wireguard-go, this run's nats-server, the PostgreSQL backends of this run's
 * database, test plumbing, this process) beside the machine's busy time, and
 * ends with one line:
 *   RESULT {"bench":"proxy","direct_p50_ms":…,"tunnel_p50_ms":…,"overhead_p50_ms":…,"overhead_p99_ms":…,"calls_per_s":…,"audit_rows_missing":0}
 * audit_rows_missing counts tunnel calls (warm-up included) without a row in
 * audit.calls once the writer settled. Exit code 1 when it is not 0 or a call
 * failed; 3 (with `RESULT {"bench":"proxy","skipped":…}`) when the WireGuard
 * path cannot run here.
 */
import { cpus, loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import pg from "pg";
import type { Pool } from "undici";
import { e2eSkipReason } from "../e2e/netns.js";
import { diff, sample, type Sample } from "./lib/cpu.js";
import { startProxyWorld } from "./lib/proxy-world.js";

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : def;
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} must be a number`);
  return v;
}
const N = arg("n", 5000);
const WARMUP = arg("warmup", 500);
const CONCURRENCY = arg("concurrency", 64);
const MAX_SECONDS = arg("max-seconds", 300);
const LOOPBACK = process.argv.includes("--loopback");
const deadline = Date.now() + MAX_SECONDS * 1000;
const log = (s: string) => process.stdout.write(`${s}\n`);
const pct = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : 0);
const r2 = (x: number) => Math.round(x * 100) / 100;
const PATH = "/api/v1/namespaces/shop/pods";
const ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

interface Phase {
  ms: number[];
  failures: number;
  /** "HTTP 503" or the client error, with counts. */
  why: Map<string, number>;
  seconds: number;
}

async function load(count: number, call: () => Promise<number>): Promise<Phase> {
  const ms: number[] = [];
  const why = new Map<string, number>();
  let failures = 0;
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next++ < count) {
      if (Date.now() > deadline) throw new Error(`bench exceeded --max-seconds ${MAX_SECONDS}`);
      const t = performance.now();
      const outcome = await call().then(
        (status) => (status === 200 ? undefined : `HTTP ${status}`),
        (err: Error) => err.message,
      );
      ms.push(performance.now() - t);
      if (outcome) {
        failures++;
        why.set(outcome, (why.get(outcome) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { ms: ms.sort((a, b) => a - b), failures, why, seconds: (performance.now() - t0) / 1000 };
}

const failed = (p: Phase) => (p.failures ? ` (${[...p.why].map(([k, n]) => `${n}× ${k}`).join(", ")})` : "");

/** The CPU table: per process, seconds in the direct and the tunnel phase, and per tunnel call. */
function cpuReport(d0: Sample, d1: Sample, t1: Sample): void {
  const direct = diff(d0, d1);
  const tunnel = diff(d1, t1);
  const directBy = new Map(direct.rows.map((r) => [r.label, r.seconds]));
  const rows = [...tunnel.rows].sort((a, b) => b.seconds - a.seconds);
  const listed = rows.reduce((s, r) => s + r.seconds, 0);
  const w = Math.max(...rows.map((r) => r.label.length), 28);
  const line = (label: string, where: string, ds: string, ts: string, perCall: string, cores: string) =>
    log(`  ${label.padEnd(w)} ${where.padEnd(11)} ${ds.padStart(9)} ${ts.padStart(9)} ${perCall.padStart(10)} ${cores.padStart(6)}`);
  log(`CPU seconds per process (utime+stime from /proc/<pid>/stat; direct phase ${r2(direct.wallSeconds)} s, tunnel phase ${r2(tunnel.wallSeconds)} s wall, ${N} calls each):`);
  line("process", "where", "direct s", "tunnel s", "ms/call", "cores");
  for (const r of rows) line(r.label, r.where, (directBy.get(r.label) ?? 0).toFixed(2), r.seconds.toFixed(2), ((r.seconds * 1000) / N).toFixed(3), (r.seconds / tunnel.wallSeconds).toFixed(2));
  line("sum of the processes above", "", direct.rows.reduce((s, r) => s + r.seconds, 0).toFixed(2), listed.toFixed(2), ((listed * 1000) / N).toFixed(3), (listed / tunnel.wallSeconds).toFixed(2));
  line("machine busy (/proc/stat)", "all", direct.machine.busy.toFixed(2), tunnel.machine.busy.toFixed(2), ((tunnel.machine.busy * 1000) / N).toFixed(3), (tunnel.machine.busy / tunnel.wallSeconds).toFixed(2));
  line("  of which softirq", "all", direct.machine.softirq.toFixed(2), tunnel.machine.softirq.toFixed(2), ((tunnel.machine.softirq * 1000) / N).toFixed(3), (tunnel.machine.softirq / tunnel.wallSeconds).toFixed(2));
  log("  (machine busy also holds whatever else ran on the box meanwhile, and kernel work not charged to a process)");
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
  log(`proxy bench: n=${N} warmup=${WARMUP} concurrency=${CONCURRENCY} path=GET ${PATH} (Table, as kubectl get pods); starting the ${LOOPBACK ? "loopback" : "WireGuard"} topology…`);
  const world = await startProxyWorld({ wireguard: !LOOPBACK, concurrency: CONCURRENCY });
  try {
    for (const l of world.topology) log(l);
    const get = (p: Pool, path: string, token: string) => async () => {
      const r = await p.request({ method: "GET", path, headers: { authorization: `Bearer ${token}`, accept: ACCEPT, "user-agent": "kubectl/v1.32.4 (bench)" } });
      const body = Buffer.from(await r.body.arrayBuffer());
      // A failure's reason (problem+json or a Status object) says which hop refused.
      if (r.statusCode !== 200) throw new Error(`HTTP ${r.statusCode}: ${body.subarray(0, 400).toString()}`);
      return r.statusCode;
    };
    const callDirect = get(world.apiServer, PATH, "edge-proxy-token");
    const callTunnel = get(world.gateway, `/k8s/clusters/${world.clusterId}${PATH}`, world.viewerToken);

    await load(WARMUP, callDirect);
    const w = await load(WARMUP, callTunnel);
    if (w.failures) throw new Error(`${w.failures} warm-up calls through the tunnel failed${failed(w)}\n${world.logs()}`);
    log(`load average before the timed phases: ${loadavg().map((x) => x.toFixed(2)).join(" ")} (${cpus().length} cores)`);
    const s0 = sample(world.watched());
    const d = await load(N, callDirect);
    const s1 = sample(world.watched());
    const t = await load(N, callTunnel);
    const s2 = sample(world.watched());
    const dp50 = pct(d.ms, 50), dp99 = pct(d.ms, 99), tp50 = pct(t.ms, 50), tp99 = pct(t.ms, 99);
    log(`direct: p50 ${r2(dp50)} ms  p99 ${r2(dp99)} ms  ${Math.round(N / d.seconds)} calls/s  failures ${d.failures}${failed(d)}`);
    log(`tunnel: p50 ${r2(tp50)} ms  p99 ${r2(tp99)} ms  ${Math.round(N / t.seconds)} calls/s  failures ${t.failures}${failed(t)}`);
    if (t.failures) process.stderr.write(`tunnel calls failed; recent output of the edge and the tunnel-proxy:\n${world.logs("edge")}\n${world.logs("tunnel-proxy")}\n`);
    cpuReport(s0, s1, s2);

    const expected = WARMUP + N;
    const db = new pg.Client({ connectionString: world.databaseUrl });
    await db.connect();
    let rows = 0;
    const until = Date.now() + 30_000;
    for (;;) {
      rows = (await db.query("select count(*)::int as n from audit.calls where cluster_id = $1", [world.clusterId])).rows[0].n;
      if (rows >= expected || Date.now() > until) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await db.end();
    const missing = Math.max(0, expected - rows);
    log(`audit rows: ${rows} for ${expected} tunnel calls (extra ${Math.max(0, rows - expected)})`);
    if (missing) process.stderr.write(`audit rows are missing; the audit service's recent output:\n${world.logs("audit")}\n`);
    const result = {
      bench: "proxy",
      direct_p50_ms: r2(dp50),
      tunnel_p50_ms: r2(tp50),
      overhead_p50_ms: r2(tp50 - dp50),
      overhead_p99_ms: r2(tp99 - dp99),
      calls_per_s: Math.round(N / t.seconds),
      audit_rows_missing: missing,
    };
    log(`RESULT ${JSON.stringify(result)}`);
    return missing === 0 && t.failures === 0 && d.failures === 0 ? 0 : 1;
  } finally {
    await world.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
