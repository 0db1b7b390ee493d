/**
 * The physical floor of each hop of a call through the tunnel, at one caller:
 * what one round trip costs on this machine before any Daalu code runs, so
 * each millisecond `bench proxy` measures at one caller can be put against
 * the hops it crosses (docs/performance.md "The floor per hop").
 *
 *   npm run bench -- hops [--n 2000] [--warmup 200] [--bytes 2048] [--rounds 3]
 *
 * Three processes: this one (the caller), a peer (bench/lib/hops-peer.ts) and a
 * nats-server of this run with JetStream. Hops, each `--n` round trips one
 * after the other with `--bytes` of payload (a `kubectl get pods` answer's
 * order of size):
 * - tcp: Node to Node over loopback TCP (TCP_NODELAY on both ends);
 * - nats_request: NATS request/reply through nats-server with nats.js's
 *   `request()` (a timer and a request object per call);
 * - nats_inbox: the same with one long-lived wildcard inbox and our own
 *   correlation (runtime's inboxMux: what the gateway's stream-requester does);
 * - jetstream_puback: a JetStream publish to a file stream, waiting for its
 *   PubAck (nats.js `js.publish` with a Nats-Msg-Id, as the audit record's);
 * - audit_publish: the tunnel-proxy's audit publisher (@daalu/audit) with a
 *   real CallRecord: validation, encode, publish, PubAck;
 * - grpc_bidi: one message each way on one long-lived grpc-js bidi stream
 *   (what ProxyMux does per call, WireGuard aside).
 * The hops take turns, `--rounds` times over (other work on a shared machine
 * comes and goes; one hop timed only once would carry whatever ran then);
 * each figure is the median over the rounds. Per hop: latency p50/p99 and
 * CPU µs per round trip of each process (/proc, 10 ms ticks: good to ~5 µs
 * per round trip at n = 2000). Ends
 * with one `RESULT {"bench":"hops",…}` line (µs).
 */
import { randomBytes, randomUUID } from "node:crypto";
import { connect as tcpConnect } from "node:net";
import { loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { jetstream, jetstreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { createAuditPublisher, newCallRecord } from "@daalu/audit";
import { CallerKind } from "@daalu/proto";
import { connectNats, createLogger, grpc, inboxMux } from "@daalu/runtime";
import { spawnService, startNatsServer } from "@daalu/testing";
import { findPids, processCpuSeconds } from "./lib/cpu.js";
import { ECHO_SERVICE, ECHO_SUBJECT } from "./lib/hops-echo.js";

const { values: opts } = parseArgs({ options: { n: { type: "string", default: "2000" }, warmup: { type: "string", default: "200" }, bytes: { type: "string", default: "2048" }, rounds: { type: "string", default: "3" } } });
const positive = (k: keyof typeof opts): number => {
  const v = Number(opts[k]);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${k} must be a positive integer`);
  return v;
};
const N = positive("n");
const WARMUP = positive("warmup");
const BYTES = positive("bytes");
const ROUNDS = positive("rounds");
const log = (s: string) => process.stdout.write(`${s}\n`);
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const selfCpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

interface HopResult {
  p50: number;
  p99: number;
  cpu: Record<string, number>;
}

/** Times `n` sequential round trips; CPU per round trip of this process and of each watched pid. */
async function time(rt: () => Promise<unknown>, pids: Record<string, number>): Promise<HopResult> {
  for (let i = 0; i < WARMUP; i++) await rt();
  const cpu0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, processCpuSeconds(pid) ?? 0]));
  const self0 = selfCpuSeconds();
  const us: number[] = [];
  for (let i = 0; i < N; i++) {
    const t = performance.now();
    await rt();
    us.push((performance.now() - t) * 1000);
  }
  const cpu: Record<string, number> = { caller: Math.round(((selfCpuSeconds() - self0) / N) * 1e6) };
  for (const [k, pid] of Object.entries(pids)) cpu[k] = Math.round((((processCpuSeconds(pid) ?? 0) - cpu0[k]!) / N) * 1e6);
  us.sort((a, b) => a - b);
  return { p50: Math.round(pct(us, 50)), p99: Math.round(pct(us, 99)), cpu };
}

/** Resolves with the next `want` bytes a socket delivers, one round trip at a time. */
function tcpRoundTrip(port: number): Promise<{ rt: (b: Buffer) => Promise<void>; close(): void }> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect({ port, host: "127.0.0.1", noDelay: true }, () => {
      let want = 0;
      let done: (() => void) | undefined;
      s.on("data", (b) => {
        want -= b.length;
        if (want <= 0) done?.();
      });
      resolve({
        rt: (b) =>
          new Promise<void>((r) => {
            want = b.length;
            done = r;
            s.write(b);
          }),
        close: () => s.destroy(),
      });
    });
    s.once("error", reject);
  });
}

async function main(): Promise<void> {
  const payload = randomBytes(BYTES);
  const nats = await startNatsServer({ jetstream: true });
  const peer = spawnService("bench/lib/hops-peer.ts", { HOPS_NATS_URL: nats.url, LOG_LEVEL: "warn" });
  const natsPid = findPids((c) => c.startsWith("nats-server ") && c.includes(` -p ${nats.port}`))[0] ?? 0;
  const stops: Array<() => unknown> = [() => peer.stop(), () => nats.cleanup()];
  try {
    const ready = await peer.ready;
    const peerPid = peer.child.pid!;
    const both = { peer: peerPid, "nats-server": natsPid };
    const hops: Array<{ name: string; rt: () => Promise<unknown>; pids: Record<string, number> }> = [];
    const [l1] = loadavg();
    log(`hops bench: n=${N} warmup=${WARMUP} bytes=${BYTES} rounds=${ROUNDS}; load average ${loadavg().map((x) => x.toFixed(2)).join(" ")} (one round trip at a time; µs)`);

    const tcp = await tcpRoundTrip(Number(ready["tcp"]));
    stops.unshift(() => tcp.close());
    hops.push({ name: "tcp", pids: { peer: peerPid }, rt: () => tcp.rt(payload) });

    const nc = await connectNats(nats.url, "hops-bench", createLogger("hops-bench", "warn"));
    stops.unshift(() => nc.close());
    hops.push({ name: "nats_request", pids: both, rt: () => nc.request(ECHO_SUBJECT, payload, { timeout: 5_000 }) });
    const mux = inboxMux(nc);
    hops.push({
      name: "nats_inbox",
      pids: both,
      rt:
      () =>
        new Promise<void>((resolve, reject) => {
          const inbox = mux.inbox();
          const route = mux.add(inbox, (err) => {
            route.remove();
            if (err) reject(err);
            else resolve();
          });
          nc.publish(ECHO_SUBJECT, payload, { reply: inbox });
        }),
    });

    // A stream like the audit stream (file storage, work queue, a duplicate window), here without a consumer.
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "HOPS", subjects: ["hops.js.>"], retention: RetentionPolicy.Workqueue, storage: StorageType.File, duplicate_window: 120_000_000_000, num_replicas: 1 });
    const js = jetstream(nc);
    hops.push({ name: "jetstream_puback", pids: { "nats-server": natsPid }, rt: () => js.publish("hops.js.t.c", payload.subarray(0, 300), { msgID: randomUUID(), timeout: 5_000 }) });
    const audit = await createAuditPublisher(nc, { prefix: "hops" });
    const tenantId = randomUUID();
    const clusterId = randomUUID();
    hops.push({
      name: "audit_publish",
      pids: { "nats-server": natsPid },
      rt:
      () =>
        audit.publish(
          newCallRecord({
            tenantId,
            clusterId,
            caller: { kind: CallerKind.USER, id: "bench" },
            operation: { verb: "list", path: "/api/v1/namespaces/shop/pods", resource: "pods", namespace: "shop" },
            outcome: { statusCode: 200, ok: true },
            latencyMs: 5,
            bytesOut: BigInt(BYTES),
          }),
        ),
    });

    const Echo = grpc.makeGenericClientConstructor(ECHO_SERVICE, "Echo");
    const client = new Echo(`127.0.0.1:${String(ready["grpc"])}`, grpc.credentials.createInsecure());
    stops.unshift(() => client.close());
    const call = client["echo"]!() as grpc.ClientDuplexStream<Buffer, Buffer>;
    stops.unshift(() => call.cancel());
    let onData: (() => void) | undefined;
    call.on("data", () => onData?.());
    call.on("error", () => undefined);
    hops.push({
      name: "grpc_bidi",
      pids: { peer: peerPid },
      rt:
      () =>
        new Promise<void>((r) => {
          onData = r;
          call.write(payload);
        }),
    });

    // Every hop takes its turn in each round; each figure is the median over the rounds.
    const rounds = new Map<string, HopResult[]>(hops.map((h) => [h.name, []]));
    for (let r = 0; r < ROUNDS; r++) for (const h of hops) rounds.get(h.name)!.push(await time(h.rt, h.pids));
    const results: Record<string, HopResult> = {};
    for (const [name, rs] of rounds) {
      const keys = Object.keys(rs[0]!.cpu);
      results[name] = { p50: median(rs.map((x) => x.p50)), p99: median(rs.map((x) => x.p99)), cpu: Object.fromEntries(keys.map((k) => [k, median(rs.map((x) => x.cpu[k]!))])) };
    }

    log(`  ${"hop".padEnd(18)} ${"p50".padStart(7)} ${"p99".padStart(7)}   CPU µs per round trip`);
    for (const [k, r] of Object.entries(results)) {
      log(`  ${k.padEnd(18)} ${String(r.p50).padStart(7)} ${String(r.p99).padStart(7)}   ${Object.entries(r.cpu).map(([p, v]) => `${p} ${v}`).join(", ")}`);
    }
    const flat: Record<string, number> = {};
    for (const [k, r] of Object.entries(results)) {
      flat[`${k}_p50_us`] = r.p50;
      flat[`${k}_p99_us`] = r.p99;
      flat[`${k}_cpu_us`] = Object.values(r.cpu).reduce((a, b) => a + b, 0);
    }
    log(`RESULT ${JSON.stringify({ bench: "hops", n: N, bytes: BYTES, rounds: ROUNDS, load: Number(l1!.toFixed(2)), ...flat })}`);
  } finally {
    for (const s of stops) await Promise.resolve().then(s).catch(() => undefined);
  }
}

await main();
