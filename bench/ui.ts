/**
 * `npm run bench -- ui`: the operator app's clusters page with 1,000 clusters
 * in Chromium. Targets (issue 10): interactive in ≤ 1,000 ms, and a status
 * change published on NATS shown on the open page in ≤ 1,000 ms p95.
 *
 * - The hub: peering, invite and the gateway (serving the built web app and
 *   the SSE event stream), each its own process (startStack), on the shared
 *   test PostgreSQL and NATS with a database and subject prefix of this run.
 * - 1,000 clusters for one tenant through the REST API (POST /v1/clusters,
 *   BENCH_UI_CREATE_CONCURRENCY in flight): the real path, timed and reported.
 * - Debian's chromium driven by playwright-core. An init script (run before
 *   the app's own) watches the DOM with a MutationObserver and stamps
 *   `performance.timeOrigin + performance.now()`:
 *     first_render_ms: navigation start → `<html data-ready="true">` with the
 *       table's `data-total` = 1,000 (or, without it, its aria-rowcount = 1,001)
 *       and rows rendered (the DOM contract: rows carry data-cluster-id and
 *       data-status; the page is virtualised).
 *       Measured over BENCH_UI_RENDERS fresh browser contexts (cold cache,
 *       signed in); the median is reported, and the worst.
 *     update latency: for each of BENCH_UI_CHANGES changes, one ClusterEvent
 *       STATUS_CHANGED (the cluster as peering has it, status toggled between
 *       connected and disconnected) published on the tenant's event subject
 *       the way peering publishes it, through JetStream (the DAALU_EVENTS
 *       stream the gateway's SSE endpoint reads), one at a time, to a row in
 *       view; from just before the publish to the row's data-status changing
 *       in the page. The page's clock is related to this process's by the
 *       round trip with the smallest delay (both are the machine's clock).
 *   CPU of the gateway process per change, from /proc, with its idle rate
 *   (the open stream's heartbeat, the page's own requests) over as long a
 *   quiet period subtracted.
 *
 * Flags: --clusters N (1000), --changes N (100, at least 100 unless --quick), --renders N (5).
 * Ends with one `RESULT {json}` line.
 */
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { jetstream } from "@nats-io/jetstream";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { peeringClient, peeringv1 } from "@daalu/peering";
import { CallerKind } from "@daalu/proto";
import { eventSubject } from "@daalu/runtime";
import { startStack, type Stack } from "@daalu/stack";
import { setup, type TestEnv } from "@daalu/testing";
import { browserSkipReason, launchBrowser } from "../e2e/web/browser.js";
import { processCpuSeconds } from "./lib/cpu.js";

const TENANT = "bench";
const { values: flags } = parseArgs({
  options: { clusters: { type: "string", default: "1000" }, changes: { type: "string", default: "100" }, renders: { type: "string", default: "5" }, quick: { type: "boolean", default: false } },
});
const CLUSTERS = Number(flags.clusters);
const CHANGES = flags.quick ? Number(flags.changes) : Math.max(100, Number(flags.changes));
const RENDERS = Math.max(1, Number(flags.renders));
const CREATE_CONCURRENCY = Number(process.env["BENCH_UI_CREATE_CONCURRENCY"] ?? 16);
const CHANGE_TIMEOUT_MS = 10_000;

const say = (line: string) => process.stdout.write(`${line}\n`);
function result(r: Record<string, unknown>): void {
  say(`RESULT ${JSON.stringify({ bench: "ui", ...r })}`);
}
function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
const round = (n: number) => Math.round(n * 10) / 10;

/**
 * The init script, run in the page before the app (playwright's, not subject
 * to the page's CSP). A string: the root tsconfig has no DOM types. It keeps
 * `window.__bench = { readyAt, changes: [{ id, status, at }] }`, times being
 * `performance.timeOrigin + performance.now()` (the machine's clock, ms).
 */
function instrument(expectedTotal: number): string {
  return `(() => {
  const marks = { readyAt: undefined, changes: [] };
  window.__bench = marks;
  const now = () => performance.timeOrigin + performance.now();
  const row = (el) => {
    const id = el.getAttribute("data-cluster-id");
    if (id) marks.changes.push({ id, status: el.getAttribute("data-status") || "", at: now() });
  };
  const check = () => {
    if (marks.readyAt !== undefined) return;
    // The contract's data-total; else the ARIA row count (rows + the header row) of the table.
    const table = document.querySelector("[data-total]");
    const aria = document.querySelector('[role="table"][aria-rowcount]');
    const total = table ? Number(table.getAttribute("data-total")) : aria ? Number(aria.getAttribute("aria-rowcount")) - 1 : -1;
    if (document.documentElement.dataset.ready === "true" && total === ${expectedTotal} && document.querySelector("[data-cluster-id]")) marks.readyAt = now();
  };
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === "attributes" && r.attributeName === "data-status") row(r.target);
      // A row the app re-creates instead of updating counts too.
      if (r.type === "childList" && marks.readyAt !== undefined) {
        for (const n of r.addedNodes) {
          if (!(n instanceof Element)) continue;
          if (n.hasAttribute("data-cluster-id")) row(n);
          for (const el of n.querySelectorAll("[data-cluster-id]")) row(el);
        }
      }
    }
    check();
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ["data-status", "data-ready", "data-total", "aria-rowcount"] });
})();`;
}
const PAGE_NOW = "performance.timeOrigin + performance.now()";

/**
 * Polls an expression in the page (over CDP, which the page's CSP does not
 * govern, unlike waitForFunction's eval) until it is neither undefined nor
 * null. The times measured come from the init script, not from this poll.
 */
async function pollPage(page: Page, expression: string, timeoutMs: number, intervalMs = 5): Promise<number> {
  const until = performance.now() + timeoutMs;
  for (;;) {
    const v = await page.evaluate<number | null | undefined>(expression);
    if (v !== undefined && v !== null) return v;
    if (performance.now() > until) throw new Error(`${expression}: nothing within ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}

async function createClusters(stack: Stack, n: number): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CREATE_CONCURRENCY }, async () => {
      for (let i = next++; i < n; i = next++) {
        const r = await stack.api("POST", "/v1/clusters", { name: `bench-${String(i).padStart(4, "0")}` });
        if (r.status !== 201) throw new Error(`create cluster ${i}: ${r.status} ${JSON.stringify(r.body)}`);
      }
    }),
  );
  return performance.now() - t0;
}

/** A signed-in browser state: the sign-in request made by the page itself, so the browser keeps the session cookie. */
async function signIn(browser: Browser, url: string, password: string): Promise<Awaited<ReturnType<BrowserContext["storageState"]>>> {
  const ctx = await browser.newContext();
  try {
    const page = await ctx.newPage();
    await page.goto(`${url}/v1/auth/config`);
    const status = await page.evaluate(
      async ([tenant, pw]) => (await fetch("/v1/session", { method: "POST", credentials: "same-origin", headers: { "content-type": "application/json" }, body: JSON.stringify({ tenant, username: "admin", password: pw }) })).status,
      [TENANT, password] as const,
    );
    if (status !== 200 && status !== 201) throw new Error(`sign-in: ${status}`);
    return await ctx.storageState();
  } finally {
    await ctx.close();
  }
}

/** One cold load of the clusters page: ms from navigation start to ready with every row counted. */
async function firstRender(browser: Browser, url: string, state: Awaited<ReturnType<BrowserContext["storageState"]>>, keep: boolean): Promise<{ ms: number; parts: Record<string, number>; page?: Page; ctx: BrowserContext }> {
  const ctx = await browser.newContext({ storageState: state, viewport: { width: 1280, height: 900 } });
  await ctx.addInitScript(instrument(CLUSTERS));
  const page = await ctx.newPage();
  await page.goto(`${url}/clusters`, { waitUntil: "commit" });
  const readyAt = await pollPage(page, "window.__bench && window.__bench.readyAt", 60_000, 20);
  const ms = readyAt - (await page.evaluate<number>("performance.timeOrigin"));
  // Where the time went (resource timing, ms from navigation start): the page, the app's script, the list.
  const parts = await page.evaluate<Record<string, number>>(`(() => {
    const at = (test) => { const e = performance.getEntriesByType("resource").find((r) => test(new URL(r.name).pathname)); return e ? Math.round(e.responseEnd) : -1; };
    const nav = performance.getEntriesByType("navigation")[0];
    return { html: nav ? Math.round(nav.responseEnd) : -1, script: at((p) => p.startsWith("/assets/") && p.endsWith(".js")), list: at((p) => p === "/v1/clusters") };
  })()`);
  if (!keep) await ctx.close();
  return keep ? { ms, parts, page, ctx } : { ms, parts, ctx };
}

/** page clock − this process's clock, from the round trip with the least delay. */
async function clockOffset(page: Page): Promise<{ offset: number; rtt: number }> {
  let best = { offset: 0, rtt: Infinity };
  for (let i = 0; i < 20; i++) {
    const t0 = performance.timeOrigin + performance.now();
    const p = await page.evaluate<number>(PAGE_NOW);
    const t1 = performance.timeOrigin + performance.now();
    if (t1 - t0 < best.rtt) best = { offset: p - (t0 + t1) / 2, rtt: t1 - t0 };
  }
  return best;
}

async function main(): Promise<number> {
  // The browser tests' own checks and launch: Debian's chromium (DAALU_CHROMIUM) and the built web app.
  const skip = browserSkipReason();
  if (skip) {
    say(`ui: cannot run: ${skip}`);
    result({ skipped: skip });
    return 3;
  }
  const cleanups: Array<() => Promise<unknown>> = [];
  const cleanup = async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  };
  process.once("SIGINT", () => void cleanup().then(() => process.exit(130)));
  try {
    const env: TestEnv = await setup();
    cleanups.push(() => env.cleanup());
    const stack = await startStack({
      databaseUrl: env.databaseUrl,
      natsUrl: env.natsUrl,
      prefix: env.prefix,
      env: { ...env.env, LOG_LEVEL: "info" },
      services: ["peering", "invite", "gateway"],
      tenant: { id: TENANT, adminUser: true },
    });
    cleanups.push(() => stack.stop());
    const password = stack.adminPassword;
    if (!password) throw new Error("startStack made no admin user");
    const gatewayPid = stack.process("gateway").child.pid!;
    say(`ui: hub up (peering, invite, gateway at ${stack.gatewayUrl}); creating ${CLUSTERS} clusters through the REST API, ${CREATE_CONCURRENCY} in flight`);
    const createMs = await createClusters(stack, CLUSTERS);
    say(`ui: ${CLUSTERS} clusters in ${(createMs / 1000).toFixed(1)} s (${round((CLUSTERS / createMs) * 1000)}/s)`);

    const browser = await launchBrowser();
    cleanups.push(() => browser.close());
    const state = await signIn(browser, stack.gatewayUrl, password);

    // First render, cold: a fresh context (no cache) each time; the last page stays open for the updates.
    const renders: number[] = [];
    let open: { page?: Page; ctx: BrowserContext } | undefined;
    for (let i = 0; i < RENDERS; i++) {
      const r = await firstRender(browser, stack.gatewayUrl, state, i === RENDERS - 1);
      renders.push(r.ms);
      say(`ui: first render ${i + 1}/${RENDERS}: ${round(r.ms)} ms (responses done at: ${Object.entries(r.parts).map(([k, v]) => `${k} ${v < 0 ? "-" : v}`).join(", ")} ms)`);
      open = r;
    }
    const page = open!.page!;
    cleanups.push(() => open!.ctx.close());
    const sortedRenders = [...renders].sort((a, b) => a - b);

    // The rows in view, and each one's cluster as peering has it (the event carries the whole row).
    const inView = await page.evaluate<string[]>('[...document.querySelectorAll("[data-cluster-id]")].map((e) => e.getAttribute("data-cluster-id"))');
    const peering = peeringClient(env.nc, { prefix: env.prefix, defaults: { tenantId: TENANT, caller: { kind: CallerKind.SERVICE, id: "bench-ui" }, timeoutMs: 30_000 } });
    const all = (await peering.listClusters({})).clusters;
    const byId = new Map(all.map((c) => [c.id, c]));
    const targets = inView.filter((id) => byId.has(id)).slice(0, 10);
    if (targets.length === 0) throw new Error(`no rows in view (${inView.length} elements with data-cluster-id)`);

    // Publish as peering does, on the tenant's event subject, through JetStream: the PubAck says the stream the
    // SSE endpoint reads holds it (a subject no stream captures fails the publish).
    const js = jetstream(env.nc);
    const subject = eventSubject(env.prefix, TENANT, "cluster.status_changed");
    const status = new Map<string, peeringv1.ClusterStatus>(targets.map((id) => [id, byId.get(id)!.status]));

    const sync = await clockOffset(page);
    say(`ui: page clock offset ${round(sync.offset)} ms (round trip ${round(sync.rtt)} ms); ${CHANGES} status changes over ${targets.length} rows in view, one at a time`);
    // The gateway's idle CPU with the page open, over as long as the changes will take (estimated).
    const idleFrom = processCpuSeconds(gatewayPid)!;
    const idleT0 = performance.now();
    await sleep(3_000);
    const idleRate = (processCpuSeconds(gatewayPid)! - idleFrom) / ((performance.now() - idleT0) / 1000);

    const latencies: number[] = [];
    const cpuFrom = processCpuSeconds(gatewayPid)!;
    const loopT0 = performance.now();
    for (let i = 0; i < CHANGES; i++) {
      const id = targets[i % targets.length]!;
      const next = status.get(id) === peeringv1.ClusterStatus.CONNECTED ? peeringv1.ClusterStatus.DISCONNECTED : peeringv1.ClusterStatus.CONNECTED;
      status.set(id, next);
      const want = next === peeringv1.ClusterStatus.CONNECTED ? "connected" : "disconnected";
      const from = await page.evaluate<number>("window.__bench.changes.length");
      const now = new Date();
      const cluster = create(peeringv1.ClusterSchema, { ...byId.get(id)!, status: next, statusSince: timestampFromDate(now) });
      const event = create(peeringv1.ClusterEventSchema, { tenantId: TENANT, clusterId: id, kind: peeringv1.ClusterEventKind.STATUS_CHANGED, cluster, time: timestampFromDate(now) });
      const publishedAt = performance.timeOrigin + performance.now();
      await js.publish(subject, toBinary(peeringv1.ClusterEventSchema, event));
      const seenAt = await pollPage(page, `window.__bench.changes.slice(${from}).find((c) => c.id === ${JSON.stringify(id)} && c.status === "${want}")?.at`, CHANGE_TIMEOUT_MS);
      latencies.push(seenAt - sync.offset - publishedAt);
    }
    const loopS = (performance.now() - loopT0) / 1000;
    const cpuMs = (processCpuSeconds(gatewayPid)! - cpuFrom) * 1000;
    const netCpuMs = Math.max(0, cpuMs - idleRate * loopS * 1000);
    const after = await clockOffset(page);
    const sorted = [...latencies].sort((a, b) => a - b);

    say(`ui: update latency p50 ${round(pct(sorted, 50))} ms, p95 ${round(pct(sorted, 95))} ms, max ${round(sorted.at(-1)!)} ms over ${latencies.length} changes`);
    say(`ui: gateway CPU ${round(cpuMs / CHANGES)} ms per change (${round(netCpuMs / CHANGES)} ms above its idle ${round(idleRate * 1000)} ms/s); clock offset drifted ${round(after.offset - sync.offset)} ms`);
    result({
      clusters: CLUSTERS,
      create_path: "rest",
      create_clusters_s: round(createMs / 1000),
      first_render_ms: round(pct(sortedRenders, 50)),
      first_render_ms_max: round(sortedRenders.at(-1)!),
      renders: RENDERS,
      changes: latencies.length,
      update_latency_ms_p50: round(pct(sorted, 50)),
      update_latency_ms_p95: round(pct(sorted, 95)),
      update_latency_ms_max: round(sorted.at(-1)!),
      gateway_cpu_ms_per_change: round(cpuMs / CHANGES),
      gateway_cpu_ms_per_change_above_idle: round(netCpuMs / CHANGES),
      gateway_idle_cpu_ms_per_s: round(idleRate * 1000),
      clock_offset_ms: round(sync.offset),
    });
    return 0;
  } finally {
    await cleanup();
  }
}

process.exit(await main());
