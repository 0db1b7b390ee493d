/**
 * Invite redemption benchmark (issue 2): the public bootstrap endpoint under load.
 *
 *   npm run bench -- invites [--n 5000] [--concurrency 64] [--replicas 3] [--warmup 500] [--per-tenant 50]
 *
 * Uses DATABASE_URL / NATS_URL when set, else PostgreSQL and NATS on 127.0.0.1
 * (5432 db `test`, 4222). It creates a fresh database and a fresh NATS subject
 * prefix, starts the hub with `--replicas` replicas of every service (devhub
 * startHub: child processes), creates tenants, API tokens and one invite per
 * redemption beforehand (not timed), then sends the redemptions through
 * POST /v1/bootstrap at fixed concurrency with one undici Pool per gateway
 * replica, round-robin. About 5% of timed requests replay an already redeemed
 * token with a different key, each sent after that token's first redemption
 * has answered; they must all be refused.
 *
 * Prints figures and ends with one line:
 *   RESULT {"bench":"invites","redeem_per_s":…,"p50_ms":…,"p99_ms":…,"duplicate_ips":0,"double_spends":0}
 * duplicate_ips is checked in the responses AND in the database (peering.addresses);
 * double_spends counts tokens with more than one successful redemption.
 * Bounded: stops after the requests are done or after --max-seconds (default 300).
 * Loopback traffic only. Exit code 1 when an invariant is broken.
 *
 * Where the CPU goes: the figures include CPU per request per service and
 * PostgreSQL's per service (application_name). DAALU_CPU_PROF_DIR=dir writes a
 * V8 CPU profile per service process (dir/<service>-<n>/) when the hub stops
 * and prints the timed phase's window in monotonic microseconds, the clock
 * the profiles' samples carry.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import pg from "pg";
import { Pool } from "undici";
import { startHub, type Hub } from "@daalu/devhub";
import { createApiToken, createTenant, openGatewayStore } from "@daalu/gateway";

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : def;
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} must be a number`);
  return v;
}

const N = arg("n", 5000);
const WARMUP = arg("warmup", 500);
const CONCURRENCY = arg("concurrency", 64);
const REPLICAS = arg("replicas", 3);
const MAX_SECONDS = arg("max-seconds", 300);
const REPLAY_SHARE = 0.05;
/**
 * Clusters per tenant (a /24 holds 254). A hub serves many tenants; with few,
 * concurrent reservations of one tenant contend for the same lowest free
 * address and the figure measures that contention rather than the service.
 */
const CLUSTERS_PER_TENANT = Math.min(254, Math.max(1, arg("per-tenant", 50)));

const BASE_DB = process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
const NATS_URL = process.env["NATS_URL"] ?? "nats://127.0.0.1:4222";
const deadline = Date.now() + MAX_SECONDS * 1000;

const log = (s: string) => process.stdout.write(`${s}\n`);
const wgKey = () => randomBytes(32).toString("base64");

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
const r2 = (x: number) => Math.round(x * 100) / 100;

async function adminQuery(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: BASE_DB });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** Runs `jobs` with at most `limit` in flight; stops taking new ones after the deadline. */
async function pool<T>(count: number, limit: number, job: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= count) return;
      if (Date.now() > deadline) throw new Error(`bench exceeded --max-seconds ${MAX_SECONDS}`);
      out[i] = await job(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
  return out;
}

/** CPU time (user + system) of a process so far, in ms; 0 once it is gone. */
function cpuMs(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(f[11]) + Number(f[12])) * 10; // clock ticks of 10 ms (USER_HZ 100)
  } catch {
    return 0;
  }
}

/**
 * CPU per process group during the timed phase: each service's replicas, the
 * PostgreSQL backends of the bench database, and this process (HTTP client).
 */
async function cpuSnapshot(hub: Hub, c: pg.Client): Promise<Map<string, number>> {
  const m = new Map<string, number>();
  for (const ch of hub.children) {
    const svc = ch.name.replace(/-\d+$/, "");
    m.set(svc, (m.get(svc) ?? 0) + cpuMs(ch.child.pid));
  }
  // PostgreSQL backends of the bench database, named by the service whose pool opened them (application_name).
  const pids = await c.query(
    "select pid, coalesce(nullif(application_name, ''), backend_type) as name from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()",
  );
  for (const r of pids.rows as Array<{ pid: number; name: string }>) m.set(`pg:${r.name}:${r.pid}`, cpuMs(r.pid));
  const self = process.cpuUsage();
  m.set("bench client", (self.user + self.system) / 1000);
  return m;
}

function cpuPerRedeem(before: Map<string, number>, after: Map<string, number>, n: number): string {
  const sums = new Map<string, number>();
  const pgBy = new Map<string, number>();
  for (const [k, v] of after) {
    const used = v - (before.get(k) ?? 0);
    const name = k.startsWith("pg:") ? "postgres" : k;
    sums.set(name, (sums.get(name) ?? 0) + used);
    if (k.startsWith("pg:")) {
      const who = k.slice(3, k.lastIndexOf(":"));
      pgBy.set(who, (pgBy.get(who) ?? 0) + used);
    }
  }
  const total = [...sums.values()].reduce((a, b) => a + b, 0);
  const pgSplit = [...pgBy].map(([k, v]) => `${k} ${r2(v / n)}`).join(", ");
  return `${[...sums].map(([k, v]) => `${k} ${r2(v / n)}`).join(", ")}; total ${r2(total / n)} (nats-server not included); postgres by session: ${pgSplit}`;
}

interface Outcome {
  status: number;
  ms: number;
  token: number;
  body: Record<string, unknown>;
}

async function main(): Promise<number> {
  const id = randomBytes(4).toString("hex");
  const dbName = `daalu_bench_${id}`;
  await adminQuery(`create database ${dbName}`);
  const u = new URL(BASE_DB);
  u.pathname = `/${dbName}`;
  const databaseUrl = u.toString();
  let hub: Hub | undefined;
  const pools: Pool[] = [];
  // Ctrl-C must not orphan the hub's child processes or leave the database behind.
  const onSignal = () => {
    void (async () => {
      await hub?.stop().catch(() => undefined);
      await adminQuery(`drop database if exists ${dbName} with (force)`).catch(() => undefined);
      process.exit(130);
    })();
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    log(`invites bench: n=${N} warmup=${WARMUP} concurrency=${CONCURRENCY} replicas=${REPLICAS} db=${dbName}`);
    const t0 = performance.now();
    const tail: string[] = [];
    hub = await startHub({
      replicas: REPLICAS,
      databaseUrl,
      natsUrl: NATS_URL,
      prefix: `bench${id}`,
      gatewayListen: "127.0.0.1:0",
      // The limiter would refuse a load test from one address; info keeps the ready lines (output is only kept for errors).
      env: { LOG_LEVEL: "info", GATEWAY_BOOTSTRAP_RATE: "0" },
      // DAALU_CPU_PROF_DIR=dir: one V8 CPU profile per service process, written when the hub stops.
      ...(process.env["DAALU_CPU_PROF_DIR"] ? { cpuProfDir: process.env["DAALU_CPU_PROF_DIR"] } : {}),
      output: (name, line) => {
        tail.push(`${name} | ${line}`);
        if (tail.length > 50) tail.shift();
      },
    });
    log(`hub up in ${Math.round(performance.now() - t0)} ms: gateways ${hub.gatewayUrls.join(" ")}`);
    for (const url of hub.gatewayUrls) pools.push(new Pool(url, { connections: Math.ceil(CONCURRENCY / hub.gatewayUrls.length) + 2, pipelining: 1 }));
    let rr = 0;
    const request = async (method: string, path: string, body: unknown, token?: string) => {
      const p = pools[rr++ % pools.length]!;
      const res = await p.request({
        method: method as "POST",
        path,
        headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      });
      const json = (await res.body.json()) as Record<string, unknown>;
      return { status: res.statusCode, body: json };
    };

    // Setup (not timed): tenants, their admin tokens and one invite per redemption.
    const total = N + WARMUP;
    const tenants = Math.ceil(total / CLUSTERS_PER_TENANT);
    const store = await openGatewayStore(databaseUrl);
    const adminTokens: string[] = [];
    try {
      for (let i = 0; i < tenants; i++) {
        await createTenant(store, `bench-${i}`);
        adminTokens.push((await createApiToken(store, `bench-${i}`, "bench", { role: "admin" })).token);
      }
    } finally {
      await store.close();
    }
    const t1 = performance.now();
    // A tenant's first cluster allocates its subnet; do those one by one, then the rest
    // concurrently. Setup retries (with a new name) on timeouts: it is not what is measured.
    const createInvite = async (i: number): Promise<string> => {
      for (let attempt = 0; ; attempt++) {
        const r = await request("POST", "/v1/clusters", { name: `c${i}-${attempt}` }, adminTokens[i % tenants]);
        if (r.status === 201) return r.body["token"] as string;
        if (r.status < 500 || attempt >= 5) throw new Error(`create cluster ${i}: ${r.status} ${JSON.stringify(r.body)}`);
      }
    };
    const invites: string[] = new Array(total);
    for (let i = 0; i < tenants; i++) invites[i] = await createInvite(i);
    const rest = await pool(total - tenants, 16, (k) => createInvite(tenants + k));
    rest.forEach((tok, k) => (invites[tenants + k] = tok));
    log(`setup: ${tenants} tenants, ${total} invites in ${Math.round(performance.now() - t1)} ms`);

    const redeem = async (tokenIndex: number): Promise<Outcome> => {
      const s = performance.now();
      const r = await request("POST", "/v1/bootstrap", { token: invites[tokenIndex], publicKey: wgKey() });
      return { status: r.status, ms: performance.now() - s, token: tokenIndex, body: r.body };
    };

    // Warm-up (not measured): JIT, pools, prepared paths.
    const warm = await pool(WARMUP, CONCURRENCY, (i) => redeem(N + i));
    const warmFailures = warm.filter((o) => o.status !== 200);
    if (warmFailures.length) log(`warm-up: ${warmFailures.length} failures, first: ${JSON.stringify(warmFailures[0]!.body)}`);

    // Timed: N fresh redemptions plus ~5% replays of tokens redeemed earlier in the run.
    const replays = Math.floor(N * REPLAY_SHARE);
    const plan: number[] = [];
    for (let i = 0; i < N; i++) {
      plan.push(i);
      // A replay of a token well behind the front, so it is almost surely redeemed already.
      if (i % Math.round(1 / REPLAY_SHARE) === 0 && i >= CONCURRENCY * 2 && plan.length < N + replays) plan.push(i - CONCURRENCY * 2);
    }
    const probe = new pg.Client({ connectionString: databaseUrl });
    await probe.connect();
    const cpu0 = await cpuSnapshot(hub, probe);
    const t2 = performance.now();
    const mono0 = process.hrtime.bigint() / 1000n;
    // A replay is sent only once its token's first redemption has answered: under a long latency tail
    // it could otherwise race the first one, win with its other key and turn that into the refusal.
    const first = new Map<number, Promise<unknown>>();
    const outcomes = await pool(plan.length, CONCURRENCY, async (k) => {
      const token = plan[k]!;
      const replay = k > 0 && token < plan[k - 1]!;
      if (replay) await first.get(token);
      const p = redeem(token);
      if (!replay) first.set(token, p.catch(() => undefined));
      return p;
    });
    const elapsed = (performance.now() - t2) / 1000;
    // V8 profile timestamps are CLOCK_MONOTONIC µs like hrtime: this lets an analyzer keep only the timed phase.
    if (process.env["DAALU_CPU_PROF_DIR"]) log(`profile window (monotonic µs): ${mono0} ${process.hrtime.bigint() / 1000n}`);
    const cpu1 = await cpuSnapshot(hub, probe);
    await probe.end();

    const all = [...warm, ...outcomes];
    const successes = all.filter((o) => o.status === 200);
    const byStatus = new Map<string, number>();
    for (const o of outcomes) {
      const k = `${o.status}${o.status === 200 ? "" : ` ${String(o.body["reason"])}`}`;
      byStatus.set(k, (byStatus.get(k) ?? 0) + 1);
    }
    const perToken = new Map<number, number>();
    for (const o of successes) perToken.set(o.token, (perToken.get(o.token) ?? 0) + 1);
    const doubleSpends = [...perToken.values()].filter((n) => n > 1).length;
    const seen = new Set<string>();
    let dupResponses = 0;
    for (const o of successes) {
      const k = `${String(o.body["tenantId"])}/${String(o.body["tunnelIp"])}`;
      if (seen.has(k)) dupResponses++;
      seen.add(k);
    }
    // The database's view: distinct addresses per tenant, and every response's address is the one stored for its cluster.
    const c = new pg.Client({ connectionString: databaseUrl });
    await c.connect();
    let dupDb = 0;
    let mismatches = 0;
    try {
      const d = await c.query("select count(*)::int - count(distinct (tenant_id, ip))::int as dup, count(*)::int as n from peering.addresses");
      dupDb = d.rows[0].dup;
      const rows = await c.query("select cluster_id::text as id, host(ip) as ip from peering.addresses");
      const ipOf = new Map<string, string>(rows.rows.map((r: { id: string; ip: string }) => [r.id, r.ip]));
      for (const o of successes) if (ipOf.get(String(o.body["clusterId"])) !== o.body["tunnelIp"]) mismatches++;
      log(`database: ${d.rows[0].n} addresses allocated for ${successes.length} successful redemptions`);
    } finally {
      await c.end();
    }

    const timedSuccess = outcomes.filter((o) => o.status === 200).length;
    const lat = outcomes.map((o) => o.ms).sort((a, b) => a - b);
    const okLat = outcomes.filter((o) => o.status === 200).map((o) => o.ms).sort((a, b) => a - b);
    const replayOutcomes = outcomes.filter((_o, k) => k > 0 && plan[k]! < plan[k - 1]!);
    log(`timed: ${plan.length} requests (${N} fresh, ${plan.length - N} replays) in ${r2(elapsed)} s`);
    log(`  statuses: ${[...byStatus].map(([k, v]) => `${k}=${v}`).join(", ")}`);
    log(`  replays refused: ${replayOutcomes.filter((o) => o.status === 409).length}/${replayOutcomes.length}`);
    log(`  successful redemptions/s: ${r2(timedSuccess / elapsed)}   requests/s: ${r2(plan.length / elapsed)}`);
    log(`  latency all   p50 ${r2(pct(lat, 50))} ms  p90 ${r2(pct(lat, 90))} ms  p99 ${r2(pct(lat, 99))} ms  max ${r2(lat[lat.length - 1] ?? 0)} ms`);
    log(`  latency 200s  p50 ${r2(pct(okLat, 50))} ms  p99 ${r2(pct(okLat, 99))} ms`);
    log(`  cpu ms per request: ${cpuPerRedeem(cpu0, cpu1, plan.length)}`);
    log(`  duplicate IPs: responses ${dupResponses}, database ${dupDb}; response/database mismatches ${mismatches}; double spends ${doubleSpends}`);
    const result = {
      bench: "invites",
      redeem_per_s: r2(timedSuccess / elapsed),
      p50_ms: r2(pct(lat, 50)),
      p99_ms: r2(pct(lat, 99)),
      duplicate_ips: dupResponses + dupDb,
      double_spends: doubleSpends,
    };
    log(`RESULT ${JSON.stringify(result)}`);
    const fresh = outcomes.filter((_o, k) => k === 0 || plan[k]! > plan[k - 1]!);
    const freshFailures = fresh.filter((o) => o.status !== 200).length;
    if (freshFailures > 0) process.stderr.write(`${freshFailures} fresh redemptions failed\n`);
    return result.duplicate_ips > 0 || result.double_spends > 0 || mismatches > 0 || freshFailures > 0 ? 1 : 0;
  } finally {
    await Promise.all(pools.map((p) => p.close().catch(() => undefined)));
    await hub?.stop().catch(() => undefined);
    await adminQuery(`drop database if exists ${dbName} with (force)`).catch(() => undefined);
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`invites bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  },
);
