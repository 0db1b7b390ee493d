/**
 * The floor of the mandated stack (issue 12): the same world as `bench
 * proxy` (bench/lib/proxy-world.ts, WireGuard by default, `--loopback`
 * without), and in it stand-ins that do ONLY the transports with the same
 * libraries (bench/lib/floor-*.ts, compiled by esbuild, plain node):
 *   client -TLS-> floor-gateway (node:https) -NATS request-> floor-proxy (nats.js)
 *   -one grpc-js bidi stream over WireGuard-> floor-edge -undici TLS-> API server,
 *   the answer only after the call's record got its JetStream PubAck; floor-audit
 *   pulls the records and writes them to PostgreSQL in batches.
 * Against it, in one run and one topology: the direct call and the product's
 * path (the real gateway), so the gap between floor and product is what
 * Daalu's own code costs, and a floor above a target means the target cannot
 * be met on this machine with this stack.
 *
 *   npm run bench -- proxy-floor [--n 5000] [--warmup 500] [--concurrency 64] [--c1-n 1000] [--idle-seconds 3] [--max-seconds 600] [--loopback]
 *
 * Phases, one at a time (nats-server is shared): warm-ups of all three, then
 * direct, floor, product at `--concurrency` callers, then (after a short
 * warm-up each) the same at one caller, then `--idle-seconds` without calls.
 * Prints per-phase latency and the CPU table (bench/lib/floor-table.ts),
 * then one line:
 *   RESULT {"bench":"proxy-floor","mode":…,"floor_hub_cpu_ms_per_call":…,"floor_edge_cpu_ms_per_call":…,
 *           "floor_overhead_p50_ms_c1":…,"floor_overhead_p99_ms_c1":…,"floor_hub_cpu_ms_per_call_c1":…,
 *           "hub_cpu_ms_per_call":…,"edge_cpu_ms_per_call":…,"overhead_p50_ms_c1":…,"overhead_p99_ms_c1":…,
 *           "calls_per_s":…,"floor_calls_per_s":…,"floor_audit_rows_missing":0,"audit_rows_missing":0,…}
 * floor_hub = floor-gateway + nats-server + floor-proxy + floor-audit + its
 * PostgreSQL backends; floor_edge = floor-edge; hub/edge as bench proxy.
 * Idle burn is NOT subtracted: the product's idle services keep running
 * during the floor's phases (and the floor's during the product's); only
 * nats-server is in both sums, and the idle column and the *_idle_ms_per_s
 * fields give each side's rate beside the figures. Exit 1 on a failed call
 * or a missing row; 3 (RESULT with "skipped") when WireGuard cannot run here.
 */
import { cpus, loadavg } from "node:os";
import pg from "pg";
import { e2eSkipReason } from "../e2e/netns.js";
import { log, pct, r2, r3, runMain } from "./lib/bench-cli.js";
import { buildOnce } from "./lib/build.js";
import { diff, sample, type Sample } from "./lib/cpu.js";
import { compileFloor, startFloor } from "./lib/floor-world.js";
import { cpuTable, perCall, type Column } from "./lib/floor-table.js";
import { FLOOR_TABLE } from "./lib/floor-wire.js";
import { EDGE, failed, HUB, kubectlGet, load, namedWatch, PATH, proxyArgs, reportPhase, settledCount, type Phase } from "./lib/proxy-load.js";
import { startProxyWorld } from "./lib/proxy-world.js";

const { n: N, warmup: WARMUP, concurrency: CONCURRENCY, nC1: N_C1, idleSeconds: IDLE_S, loopback: LOOPBACK, deadline } = proxyArgs(600);
const C1_WARMUP = Math.min(WARMUP, 100);
const FLOOR_HUB = ["floor-gateway", "nats-server", "floor-proxy", "floor-audit", "postgres backends (floor-audit)"];
const FLOOR_EDGE = ["floor-edge"];

async function main(): Promise<number> {
  if (!LOOPBACK) {
    const skip = e2eSkipReason();
    if (skip) {
      log(`proxy-floor: cannot run the WireGuard path: ${skip}. \`--loopback\` measures the path without WireGuard.`);
      log(`RESULT ${JSON.stringify({ bench: "proxy-floor", skipped: skip })}`);
      return 3;
    }
  }
  if (process.env["BENCH_BUILD"] !== "0") buildOnce();
  compileFloor();
  log(`proxy-floor bench: n=${N} warmup=${WARMUP} concurrency=${CONCURRENCY} c1-n=${N_C1} path=GET ${PATH}; starting the ${LOOPBACK ? "loopback" : "WireGuard"} topology, services compiled, then the floor's stand-ins…`);
  const world = await startProxyWorld({ wireguard: !LOOPBACK, concurrency: CONCURRENCY, compiled: true });
  let floor: Awaited<ReturnType<typeof startFloor>> | undefined;
  try {
    floor = await startFloor(world, CONCURRENCY);
    for (const l of [...world.topology, ...floor.topology]) log(l);
    const targets = {
      direct: kubectlGet(world.apiServer, PATH, world.kube.token),
      floor: kubectlGet(floor.gateway, PATH, world.viewerToken),
      product: kubectlGet(world.gateway, `/k8s/clusters/${world.clusterId}${PATH}`, world.viewerToken),
    };
    const names = ["direct", "floor", "product"] as const;
    const db = new pg.Client({ connectionString: world.databaseUrl });
    await db.connect();
    const watched = namedWatch(world, db);
    const snap = async () => sample(await watched());

    for (const t of names) {
      const w = await load(WARMUP, targets[t], CONCURRENCY, deadline);
      if (w.failures) throw new Error(`${w.failures} warm-up calls (${t}) failed${failed(w)}\n${world.logs(t === "floor" ? "floor" : undefined)}`);
    }
    log(`load average before the timed phases: ${loadavg().map((x) => x.toFixed(2)).join(" ")} (${cpus().length} cores)`);

    /** Each target at `callers`, a CPU sample around each phase (and `warm` calls at `callers` first when > 0). */
    const round = async (count: number, callers: number, warm: number) => {
      const phases = {} as Record<(typeof names)[number], { p: Phase; a: Sample; b: Sample }>;
      for (const t of names) {
        if (warm) await load(warm, targets[t], callers, deadline);
        const a = await snap();
        const p = await load(count, targets[t], callers, deadline);
        phases[t] = { p, a, b: await snap() };
        reportPhase(t, p, callers);
      }
      return phases;
    };
    const many = await round(N, CONCURRENCY, 0);
    const one = N_C1 > 0 ? await round(N_C1, 1, C1_WARMUP) : undefined;
    let idle: ReturnType<typeof diff> | undefined;
    if (IDLE_S > 0) {
      const a = await snap();
      await new Promise((r) => setTimeout(r, IDLE_S * 1000));
      idle = diff(a, await snap());
    }

    const col = (title: string, x: { a: Sample; b: Sample }, show: Column["show"], calls?: number): Column => ({ title, d: diff(x.a, x.b), show, ...(calls ? { calls } : {}) });
    const cols: Column[] = [col("direct s", many.direct, "s"), col("floor s", many.floor, "s"), col("product s", many.product, "s"), col("floor ms/call", many.floor, "ms/call", N), col("product ms/call", many.product, "ms/call", N)];
    if (one) cols.push(col("floor ms/call @1", one.floor, "ms/call", N_C1), col("product ms/call @1", one.product, "ms/call", N_C1));
    if (idle) cols.push({ title: "idle ms/s", d: idle, show: "ms/s" });
    const groups = [
      { name: "FLOOR HUB (sum)", labels: FLOOR_HUB },
      { name: "HUB (sum)", labels: HUB },
      { name: "FLOOR EDGE (sum)", labels: FLOOR_EDGE },
      { name: "EDGE (sum)", labels: EDGE },
    ];
    log(`CPU per process (utime+stime from /proc/<pid>/stat), ${N} calls per phase at ${CONCURRENCY} callers${one ? `, ${N_C1} at one` : ""}; phases run one at a time:`);
    for (const l of cpuTable(cols, groups, cols[2]!)) log(l);
    log(`  FLOOR HUB = ${FLOOR_HUB.join(" + ")}; FLOOR EDGE = ${FLOOR_EDGE.join(" + ")}`);
    log(`  HUB = ${HUB.join(" + ")}; EDGE = ${EDGE.join(" or ")}`);
    log("  idle burn is not subtracted: during the floor's phases the product's services idle (and the floor's during the product's); nats-server, in both sums, serves both; see idle ms/s");
    log(`  /proc counts CPU in 10 ms ticks: a per-call figure is good to about ${r3(10 / N)} ms per process at ${CONCURRENCY} callers${one ? ` and ${r3(10 / N_C1)} ms at one` : ""}`);

    const [fC, pC] = [cols[3]!, cols[4]!];
    const c1Cols = one ? { f: cols[5]!, p: cols[6]! } : undefined;
    const idleCol = idle ? cols.at(-1)! : undefined;
    const failures = names.reduce((s, t) => s + many[t].p.failures + (one ? one[t].p.failures : 0), 0);
    const expected = WARMUP + N + (one ? C1_WARMUP + N_C1 : 0);
    const count = async (sql: string, args: unknown[] = []) => settledCount(async () => (await db.query(sql, args)).rows[0].n as number, expected);
    const floorRows = await count(`select count(*)::int as n from ${FLOOR_TABLE}`);
    const rows = await count("select count(*)::int as n from audit.calls where cluster_id = $1", [world.clusterId]);
    await db.end();
    log(`audit rows: product ${rows}, floor ${floorRows}, for ${expected} calls each`);
    const at = (t: (typeof names)[number], q: number, ph = many) => pct(ph[t].p.ms, q);
    /** The one-caller figures of one side: overhead over direct, CPU of its hub and edge sums. */
    const c1Fields = (prefix: string, t: "floor" | "product", hub: string[], edge: string[], c?: Column) =>
      one && c
        ? {
            [`${prefix}overhead_p50_ms_c1`]: r2(at(t, 50, one) - at("direct", 50, one)),
            [`${prefix}overhead_p99_ms_c1`]: r2(at(t, 99, one) - at("direct", 99, one)),
            [`${prefix}hub_cpu_ms_per_call_c1`]: r3(perCall(c, hub)),
            [`${prefix}edge_cpu_ms_per_call_c1`]: r3(perCall(c, edge)),
          }
        : {};
    const result = {
      bench: "proxy-floor",
      mode: world.mode,
      concurrency: CONCURRENCY,
      n: N,
      n_c1: N_C1,
      floor_hub_cpu_ms_per_call: r3(perCall(fC, FLOOR_HUB)),
      floor_edge_cpu_ms_per_call: r3(perCall(fC, FLOOR_EDGE)),
      floor_overhead_p50_ms: r2(at("floor", 50) - at("direct", 50)),
      floor_overhead_p99_ms: r2(at("floor", 99) - at("direct", 99)),
      ...c1Fields("floor_", "floor", FLOOR_HUB, FLOOR_EDGE, c1Cols?.f),
      hub_cpu_ms_per_call: r3(perCall(pC, HUB)),
      edge_cpu_ms_per_call: r3(perCall(pC, EDGE)),
      overhead_p50_ms: r2(at("product", 50) - at("direct", 50)),
      overhead_p99_ms: r2(at("product", 99) - at("direct", 99)),
      ...c1Fields("", "product", HUB, EDGE, c1Cols?.p),
      ...(idleCol ? { floor_hub_idle_ms_per_s: r2(perCall(idleCol, FLOOR_HUB)), hub_idle_ms_per_s: r2(perCall(idleCol, HUB)) } : {}),
      calls_per_s: Math.round(N / many.product.p.seconds),
      floor_calls_per_s: Math.round(N / many.floor.p.seconds),
      direct_calls_per_s: Math.round(N / many.direct.p.seconds),
      failures,
      floor_audit_rows_missing: Math.max(0, expected - floorRows),
      audit_rows_missing: Math.max(0, expected - rows),
    };
    if (failures) process.stderr.write(`calls failed; recent output:\n${world.logs("floor")}\n${world.logs("tunnel-proxy")}\n`);
    log(`RESULT ${JSON.stringify(result)}`);
    return failures === 0 && result.floor_audit_rows_missing === 0 && result.audit_rows_missing === 0 ? 0 : 1;
  } finally {
    await floor?.gateway.close();
    await world.stop();
  }
}

runMain(main);
