/**
 * What the proxy benches (bench proxy, bench proxy-floor) share: kubectl's
 * GET as the load, N calls at C callers with their latencies, the phase's
 * one-line report, and the CPU watch list with PostgreSQL backends named by
 * the service that opened them.
 */
import { performance } from "node:perf_hooks";
import type pg from "pg";
import type { Pool } from "undici";
import { log, numArg, pct, r2 } from "./bench-cli.js";
import type { Watched } from "./cpu.js";
import type { ProxyWorld } from "./proxy-world.js";

export const PATH = "/api/v1/namespaces/shop/pods";
export const ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
const PG_LABEL = "postgres backends (this db)";
/** CPU-table labels summed into hub_cpu_ms_per_call (what a hub node spends per call, WireGuard aside). */
export const HUB = ["gateway", "nats-server", "tunnel-proxy", "audit", "postgres backends (audit)"];
/** … and into edge_cpu_ms_per_call (what the customer's cluster spends, WireGuard and the API server aside). */
export const EDGE = ["edge run", "edge gRPC server (no WireGuard)"];

/** The command line both benches take (see bench/proxy.ts); `--max-seconds` bounds the whole run. */
export function proxyArgs(maxSecondsByDefault: number) {
  const maxSeconds = numArg("max-seconds", maxSecondsByDefault);
  return {
    n: numArg("n", 5000),
    warmup: numArg("warmup", 500),
    concurrency: numArg("concurrency", 64),
    nC1: numArg("c1-n", 1000),
    idleSeconds: numArg("idle-seconds", 3),
    loopback: process.argv.includes("--loopback"),
    deadline: { at: Date.now() + maxSeconds * 1000, what: `--max-seconds ${maxSeconds}` },
  };
}

export interface Phase {
  ms: number[];
  failures: number;
  /** "HTTP 503" or the client error, with counts. */
  why: Map<string, number>;
  seconds: number;
}

/** One GET of `path` as kubectl sends it (Table Accept, its user agent); resolves with the status, throws with the body's start on another. */
export const kubectlGet = (p: Pool, path: string, token: string) => async (): Promise<number> => {
  const r = await p.request({ method: "GET", path, headers: { authorization: `Bearer ${token}`, accept: ACCEPT, "user-agent": "kubectl/v1.32.4 (bench)" } });
  const body = Buffer.from(await r.body.arrayBuffer());
  // A failure's reason (problem+json or a Status object) says which hop refused.
  if (r.statusCode !== 200) throw new Error(`HTTP ${r.statusCode}: ${body.subarray(0, 400).toString()}`);
  return r.statusCode;
};

/** `count` calls by `callers` concurrent callers; throws past `deadline` (epoch ms, `what` names the flag). */
export async function load(count: number, call: () => Promise<number>, callers: number, deadline: { at: number; what: string }): Promise<Phase> {
  const ms: number[] = [];
  const why = new Map<string, number>();
  let failures = 0;
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next++ < count) {
      if (Date.now() > deadline.at) throw new Error(`bench exceeded ${deadline.what}`);
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
  await Promise.all(Array.from({ length: callers }, worker));
  return { ms: ms.sort((a, b) => a - b), failures, why, seconds: (performance.now() - t0) / 1000 };
}

export const failed = (p: Phase) => (p.failures ? ` (${[...p.why].map(([k, n]) => `${n}× ${k}`).join(", ")})` : "");

export const reportPhase = (what: string, p: Phase, callers: number) =>
  log(`${what} at ${callers} caller${callers === 1 ? "" : "s"}: p50 ${r2(pct(p.ms, 50))} ms  p99 ${r2(pct(p.ms, 99))} ms  ${Math.round(p.ms.length / p.seconds)} calls/s  failures ${p.failures}${failed(p)}`);


/** The world's watch list, each PostgreSQL backend of the run's database named by its pool's application_name. */
export function namedWatch(world: ProxyWorld, db: pg.Client): () => Promise<Watched[]> {
  return async () => {
    const apps = new Map<number, string>();
    const q = await db.query("select pid, coalesce(nullif(application_name, ''), backend_type) as name from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()");
    for (const r of q.rows as Array<{ pid: number; name: string }>) apps.set(r.pid, r.name);
    return world.watched().map((x) => (x.label === PG_LABEL ? { ...x, label: `postgres backends (${apps.get(x.pid) ?? "other"})` } : x));
  };
}

/** Polls `count()` until it reaches `expected` or 30 s passed; returns the last count. */
export async function settledCount(count: () => Promise<number>, expected: number): Promise<number> {
  const until = Date.now() + 30_000;
  for (;;) {
    const n = await count();
    if (n >= expected || Date.now() > until) return n;
    await new Promise((r) => setTimeout(r, 200));
  }
}
