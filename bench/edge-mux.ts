/**
 * The edge's side of a proxied call alone: the edge's real gRPC server
 * (bench/lib/edge-proxy.ts, its own process) in front of the kube-double over
 * TLS, driven by one ProxyMux stream on loopback, as the hub keeps one. No
 * WireGuard, NATS or hub services: what the edge spends per call
 * (edge_cpu_ms_per_call in `bench proxy`) with nothing else to wait for, so
 * a change to the edge's hot path shows in seconds on a busy machine.
 *
 *   npm run bench -- edge-mux [--n 3000] [--concurrency 16] [--c1-n 1000] [--warmup 200]
 *
 * The load generator and the kube-double share this process; the edge's CPU
 * comes from /proc/<pid>/stat over each timed phase.
 *   RESULT {"bench":"edge-mux","edge_cpu_ms_per_call":…,"edge_cpu_ms_per_call_c1":…,"p50_ms_c1":…,"calls_per_s":…}
 *
 * DAALU_CPU_PROF_DIR=dir writes a V8 profile of the edge process there (as spawnService does for services).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { edgev1 } from "@daalu/proto";
import { grpc } from "@daalu/runtime";
import { startKubeDouble } from "@daalu/kube-double";
import { processCpuSeconds } from "./lib/cpu.js";

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : def;
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} must be a number`);
  return v;
}
const N = arg("n", 3000);
const C = arg("concurrency", 16);
const N_C1 = arg("c1-n", 1000);
const WARMUP = arg("warmup", 200);
const here = path.dirname(fileURLToPath(import.meta.url));
const r3 = (x: number) => Math.round(x * 1000) / 1000;

const kube = await startKubeDouble();
const dir = mkdtempSync(path.join(tmpdir(), "bench-edge-mux-"));
writeFileSync(path.join(dir, "ca.pem"), kube.ca!);
const profDir = process.env["DAALU_CPU_PROF_DIR"];
const profArgs = profDir ? ["--cpu-prof", "--cpu-prof-dir", profDir, "--cpu-prof-interval", "200"] : [];
const edge = spawn(process.execPath, [...profArgs, "--import", "tsx", path.join(here, "lib/edge-proxy.ts")], {
  env: { ...process.env, BENCH_API_SERVER: kube.url, BENCH_API_CA_FILE: path.join(dir, "ca.pem"), BENCH_API_TOKEN: "edge-proxy-token", LOG_LEVEL: "info" },
  stdio: ["ignore", "pipe", "inherit"],
});
const port = await new Promise<number>((resolve, reject) => {
  edge.once("exit", (code) => reject(new Error(`the edge exited ${code}`)));
  edge.stdout!.on("data", (d: Buffer) => {
    const m = /"port":(\d+)/.exec(d.toString());
    if (m) resolve(Number(m[1]));
  });
});
// One ProxyMux stream, as the hub's client keeps one per edge (services/tunnel-proxy mux-client.ts; benches do not import services).
const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { "grpc-node.flow_control_window": 16 * 1024 * 1024 });
const stream = client.makeBidiStreamRequest(
  `/${edgev1.EdgeService.typeName}/${edgev1.EdgeService.method.proxyMux.name}`,
  (m: edgev1.ProxyMuxRequest) => Buffer.from(toBinary(edgev1.ProxyMuxRequestSchema, m)),
  (b: Buffer) => fromBinary(edgev1.ProxyMuxResponseSchema, b),
);
const waiting = new Map<number, { status: number; done: (err?: Error) => void }>();
stream.on("data", (f: edgev1.ProxyMuxResponse) => {
  const w = waiting.get(f.callId);
  if (!w) return;
  const c = f.frame.case;
  if (c === "head") w.status = f.frame.value.status;
  if (c === "reply") w.status = f.frame.value.head?.status ?? 0;
  if (c === "end" || c === "reply" || c === "error") {
    waiting.delete(f.callId);
    w.done(w.status === 200 ? undefined : new Error(c === "error" ? f.frame.value.message : `HTTP ${w.status}`));
  }
});
stream.on("error", () => undefined);
const request = create(edgev1.ProxyRequestSchema, { target: "kubernetes", method: "GET", path: "/api/v1/namespaces/default/pods", headers: [{ name: "Accept", value: "application/json" }] });
let nextId = 1;
const one = (): Promise<void> =>
  new Promise<void>((resolve, reject) => {
    const callId = nextId++;
    waiting.set(callId, { status: 0, done: (err) => (err ? reject(err) : resolve()) });
    stream.write(create(edgev1.ProxyMuxRequestSchema, { callId, frame: { case: "open", value: { request, windowBytes: 512 * 1024, deadlineMs: 10_000, acceptsReply: true } } }));
  });
const cpu = () => processCpuSeconds(edge.pid!) ?? NaN;

for (let i = 0; i < WARMUP; i++) await one();
let left = N;
const c0 = cpu();
const t0 = performance.now();
const mono0 = process.hrtime.bigint() / 1000n;
await Promise.all(Array.from({ length: C }, async () => {
  while (left-- > 0) await one();
}));
const seconds = (performance.now() - t0) / 1000;
const cpuMs = (cpu() - c0) * 1000;
// The profile's clock is the same monotonic µs: this window is the timed phase at `--concurrency` callers.
if (profDir) process.stdout.write(`profile window of the ${C}-caller phase (monotonic µs): ${mono0} ${process.hrtime.bigint() / 1000n}\n`);
const ms: number[] = [];
const c1 = cpu();
for (let i = 0; i < N_C1; i++) {
  const s = performance.now();
  await one();
  ms.push(performance.now() - s);
}
const cpuMsC1 = (cpu() - c1) * 1000;
ms.sort((a, b) => a - b);
process.stdout.write(`edge at ${C} callers: ${r3(cpuMs / N)} ms CPU per call, ${Math.round(N / seconds)} calls/s; at one caller: ${r3(cpuMsC1 / Math.max(1, N_C1))} ms CPU per call, p50 ${r3(ms[Math.floor(ms.length / 2)] ?? 0)} ms\n`);
process.stdout.write(
  `RESULT ${JSON.stringify({ bench: "edge-mux", concurrency: C, n: N, edge_cpu_ms_per_call: r3(cpuMs / N), edge_cpu_ms_per_call_c1: r3(cpuMsC1 / Math.max(1, N_C1)), p50_ms_c1: r3(ms[Math.floor(ms.length / 2)] ?? 0), calls_per_s: Math.round(N / seconds) })}\n`,
);
stream.cancel();
client.close();
edge.kill("SIGTERM");
await new Promise((r) => edge.once("exit", r));
await kube.close();
rmSync(dir, { recursive: true, force: true });
