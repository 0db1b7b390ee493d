/**
 * `npm run bench -- peers [-- --peers N] [--adds N]`: the hub's WireGuard side at N peers (default 5,000;
 * BENCH_PEERS / BENCH_ADDS still work when the flags are not given).
 *
 * Phases:
 *   - sweep: one device (real wireguard-go or kernel WireGuard) in a throwaway network namespace, N peers with /32s
 *     and no real edges; a full status sweep is device.peers() + the health state machine for every peer
 *     (target ≤ 200 ms at 10,000);
 *   - add: setPeer latency while adding peers at that size, p99 over ≥ 200 adds (target ≤ 20 ms);
 *   - reconcile (bench/lib/peers-reconcile.ts): a FRESH hub node — the peering service with PEERING_WG=on, so the
 *     real HubNode.start + device-sync path — against PostgreSQL holding N committed clusters, timed until every
 *     peer is on the device (target ≤ 10 s at 10,000).
 * `--save-dump FILE` keeps one raw `get=1` answer (for `npm run bench -- uapi-parse -- --dump FILE`).
 * `--node-sweeps K` then times K real HubNode.sweep() (the first after a fresh start writes every row: slow).
 * CPU ms of each phase (this process and wireguard-go, from /proc). Ends with one `RESULT {...}` line. Needs root;
 * the namespace is removed on exit.
 */
import { spawn, spawnSync } from "node:child_process";
import { connect } from "node:net";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import { generateKeyPair, openDevice, uapiSocketPath, type PeerConfig } from "@daalu/wireguard";
import { DEFAULT_ALERT_AFTER_MS, DEFAULT_DISCONNECT_AFTER_MS, evaluateHealth, type HealthState } from "@daalu/peering";
import { findPids, processCpuSeconds } from "./lib/cpu.js";
import { reconcilePhase } from "./lib/peers-reconcile.js";

const { values: flags } = parseArgs({
  // `npm run bench -- peers -- --peers N` hands the second `--` through.
  args: process.argv.slice(2).filter((a) => a !== "--"),
  options: { peers: { type: "string" }, adds: { type: "string" }, inner: { type: "string" }, "no-reconcile": { type: "boolean" }, "node-sweeps": { type: "string" }, "save-dump": { type: "string" } },
});
const PEERS = Number(flags.peers ?? process.env["BENCH_PEERS"] ?? 5000);
const ADDS = Number(flags.adds ?? process.env["BENCH_ADDS"] ?? 250);
if (!Number.isInteger(PEERS) || PEERS < 1 || PEERS > 60_000 || !Number.isInteger(ADDS) || ADDS < 1) {
  console.error("usage: npm run bench -- peers -- [--peers 1..60000] [--adds N] [--no-reconcile] [--node-sweeps K] [--save-dump FILE]");
  process.exit(2);
}
const SWEEPS = 7;
const TIME_LIMIT_MS = 300_000;

function ipOf(i: number): string {
  // 10.200.0.0/16, skipping .0.0 and .0.1 (the hub).
  const n = i + 2;
  return `10.200.${n >> 8}.${n & 255}`;
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const wgPids = new Map<string, number[]>();
/**
 * CPU ms so far of this process and of the device's wireguard-go (0 for the kernel backend). Its pid is looked up
 * once (a scan of /proc costs more than a sweep's parse), so the phases measure themselves, not the measuring.
 */
function cpuNow(iface: string): { node: number; wg: number } {
  const u = process.cpuUsage();
  let pids = wgPids.get(iface);
  if (!pids) {
    pids = findPids((cmd) => /wireguard-go/.test(cmd) && cmd.endsWith(` ${iface}`));
    wgPids.set(iface, pids);
  }
  const wg = pids.reduce((s, pid) => s + (processCpuSeconds(pid) ?? 0), 0);
  return { node: (u.user + u.system) / 1000, wg: wg * 1000 };
}

const round = (x: number) => Math.round(x * 100) / 100;

/**
 * The floor of a sweep: one `get=1` read to its end and thrown away (no parse), i.e. wireguard-go producing the dump
 * plus the socket. Wall ms and the answer's size.
 */
function rawGet(socket: string, keep?: Buffer[]): Promise<{ ms: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const sock = connect(socket, () => sock.write("get=1\n\n"));
    let bytes = 0;
    let tail = "";
    sock.on("data", (b: Buffer) => {
      bytes += b.length;
      keep?.push(Buffer.from(b));
      tail = (tail + b.toString("latin1", Math.max(0, b.length - 16))).slice(-16);
      if (/errno=-?\d+\n\n$/.test(tail)) {
        sock.destroy();
        resolve({ ms: performance.now() - t, bytes });
      }
    });
    sock.on("error", reject);
  });
}

interface InnerResult {
  backend: string;
  sweeps: number[];
  /** Per sweep, in run order: its wall ms, wireguard-go CPU ms, and the raw get=1 read right after it (the floor). */
  runs: Array<{ ms: number; wgCpu: number; rawMs: number }>;
  adds: number[];
  configureMs: number;
  cpu: { configure: { node: number; wg: number }; sweep: { node: number; wg: number }; add: { node: number; wg: number } };
}

const minus = (a: { node: number; wg: number }, b: { node: number; wg: number }) => ({ node: a.node - b.node, wg: a.wg - b.wg });

async function inner(iface: string): Promise<void> {
  const t0 = performance.now();
  // Any 32 bytes are a valid public key as far as configuration goes; only the hub needs a real pair.
  const keys = Array.from({ length: PEERS + ADDS }, () => randomBytes(32).toString("base64"));
  const hub = generateKeyPair();
  const peers: PeerConfig[] = keys.slice(0, PEERS).map((publicKey, i) => ({ publicKey, allowedIps: [`${ipOf(i)}/32`] }));
  console.log(`generated ${keys.length} keys in ${Math.round(performance.now() - t0)} ms`);

  const dev = await openDevice(iface);
  try {
    let c = cpuNow(iface);
    let t = performance.now();
    await dev.configure({ privateKey: hub.privateKey, listenPort: 0, peers, replacePeers: true });
    const configureMs = performance.now() - t;
    const cpuConfigure = minus(cpuNow(iface), c);
    await dev.addAddress("10.200.0.1/16");
    console.log(`backend ${dev.backend}; configured ${PEERS} peers in one call: ${Math.round(configureMs)} ms`);

    // The hub node's sweep: read every peer, evaluate each with its previous state.
    const now0 = Date.now();
    const previous = new Map<string, { state: HealthState; since: number }>(keys.map((k) => [k, { state: "awaiting_handshake", since: now0 }]));
    // As the hub node does: the rx counter per peer, and when it last grew (the sign of life between rekeys).
    const rx = new Map<string, { bytes: number; lastRxMs: number }>(keys.map((k) => [k, { bytes: -1, lastRxMs: 0 }]));
    const sweeps: number[] = [];
    const runs: InnerResult["runs"] = [];
    let seen = 0;
    let rawCpu = { node: 0, wg: 0 };
    c = cpuNow(iface);
    for (let s = 0; s < SWEEPS; s++) {
      const w0 = cpuNow(iface).wg;
      t = performance.now();
      const status = await dev.peers();
      const now = Date.now();
      for (const p of status) {
        const prev = previous.get(p.publicKey)!;
        const r = rx.get(p.publicKey)!;
        if (r.bytes >= 0 && p.rxBytes > r.bytes) r.lastRxMs = now;
        r.bytes = p.rxBytes;
        const out = evaluateHealth(
          { now, enrolledAt: now0, lastHandshakeMs: p.lastHandshakeMs, lastRxMs: r.lastRxMs, probe: undefined, previous: prev, alert: undefined },
          { disconnectAfterMs: DEFAULT_DISCONNECT_AFTER_MS, alertAfterMs: DEFAULT_ALERT_AFTER_MS },
        );
        if (out.transition) previous.set(p.publicKey, { state: out.state, since: out.since });
      }
      const ms = performance.now() - t;
      sweeps.push(ms);
      seen = status.length;
      // After the sweep, so the first sweep stays the cold one; its CPU is taken out of the sweep phase's.
      const r0 = cpuNow(iface);
      const raw = await rawGet(uapiSocketPath(iface));
      const r1 = cpuNow(iface);
      rawCpu = { node: rawCpu.node + r1.node - r0.node, wg: rawCpu.wg + r1.wg - r0.wg };
      runs.push({ ms: round(ms), wgCpu: round(r0.wg - w0), rawMs: round(raw.ms) });
      if (s === 0) console.log(`get=1 answer: ${raw.bytes} bytes`);
    }
    const cpuSweep = minus(minus(cpuNow(iface), c), rawCpu);
    if (flags["save-dump"]) {
      // A real answer for `npm run bench -- uapi-parse -- --dump FILE`.
      const keep: Buffer[] = [];
      await rawGet(uapiSocketPath(iface), keep);
      writeFileSync(flags["save-dump"], Buffer.concat(keep));
      console.log(`saved the get=1 answer to ${flags["save-dump"]}`);
    }
    if (seen !== PEERS) throw new Error(`device reports ${seen} peers, expected ${PEERS}`);
    const sorted = [...sweeps].sort((a, b) => a - b);
    console.log(`status sweep over ${seen} peers (${SWEEPS} runs): median ${round(pct(sorted, 50))} ms, max ${round(sorted.at(-1)!)} ms; runs ${sweeps.map(Math.round).join(", ")}`);
    console.log(`per run (sweep ms / its wireguard-go CPU ms / raw get=1 ms after it): ${runs.map((r) => `${Math.round(r.ms)}/${Math.round(r.wgCpu)}/${Math.round(r.rawMs)}`).join(", ")}`);

    const adds: number[] = [];
    c = cpuNow(iface);
    for (let i = 0; i < ADDS; i++) {
      t = performance.now();
      await dev.setPeer({ publicKey: keys[PEERS + i]!, allowedIps: [`${ipOf(PEERS + i)}/32`] });
      adds.push(performance.now() - t);
    }
    const cpuAdd = minus(cpuNow(iface), c);
    adds.sort((a, b) => a - b);
    const total = (await dev.peers()).length;
    if (total !== PEERS + ADDS) throw new Error(`device reports ${total} peers after adds, expected ${PEERS + ADDS}`);
    console.log(`setPeer at ${PEERS}+ peers (${ADDS} adds): p50 ${round(pct(adds, 50))} ms, p99 ${round(pct(adds, 99))} ms, max ${round(adds.at(-1)!)} ms`);
    const res: InnerResult = { backend: dev.backend, sweeps: sorted, runs, adds, configureMs, cpu: { configure: cpuConfigure, sweep: cpuSweep, add: cpuAdd } };
    console.log(`INNER ${JSON.stringify(res)}`);
  } finally {
    await dev.close();
  }
}

/** Runs the sweep and add phases in a throwaway namespace; their figures, or an exit code. */
async function inNamespace(): Promise<InnerResult | number> {
  const id = randomBytes(3).toString("hex");
  const ns = `dlb-${id}`;
  const iface = `dlb${id}`;
  const kill = () => {
    const pids = spawnSync("ip", ["netns", "pids", ns], { encoding: "utf8" }).stdout.split(/\s+/).filter((p) => /^\d+$/.test(p));
    for (const pid of pids) spawnSync("kill", ["-KILL", pid]);
    spawnSync("ip", ["netns", "del", ns]);
  };
  const r = spawnSync("ip", ["netns", "add", ns], { encoding: "utf8" });
  if (r.status !== 0) {
    console.error(`cannot create namespace: ${r.stderr}`);
    return 2;
  }
  try {
    spawnSync("ip", ["netns", "exec", ns, "ip", "link", "set", "lo", "up"]);
    // DAALU_CPU_PROF_DIR: a V8 profile of the inner process (the sweep and add phases), as spawnService does.
    const profDir = process.env["DAALU_CPU_PROF_DIR"];
    const prof = profDir ? ["--cpu-prof", "--cpu-prof-dir", profDir] : [];
    const args = [...prof, "--import", "tsx", fileURLToPath(import.meta.url), "--inner", iface, "--peers", String(PEERS), "--adds", String(ADDS), ...(flags["save-dump"] ? ["--save-dump", flags["save-dump"]] : [])];
    const child = spawn("ip", ["netns", "exec", ns, process.execPath, ...args], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let result: InnerResult | undefined;
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (line.startsWith("INNER ")) result = JSON.parse(line.slice("INNER ".length)) as InnerResult;
      else console.log(line);
    });
    const timer = setTimeout(() => {
      console.error(`bench peers exceeded ${TIME_LIMIT_MS} ms; stopping`);
      child.kill("SIGKILL");
    }, TIME_LIMIT_MS);
    const code = await new Promise<number>((res) => child.on("close", (c) => res(c ?? 1)));
    clearTimeout(timer);
    return code === 0 && result ? result : code || 1;
  } finally {
    kill();
  }
}

async function outer(): Promise<number> {
  if (process.getuid?.() !== 0) {
    console.error("bench peers needs root (a network namespace and a TUN device)");
    return 2;
  }
  const r = await inNamespace();
  if (typeof r === "number") return r;
  const rec = flags["no-reconcile"] ? undefined : await reconcilePhase(PEERS, r.backend, Number(flags["node-sweeps"] ?? 0), (s) => console.log(s));
  const sweepP50 = round(pct(r.sweeps, 50));
  const sweepMax = round(r.sweeps.at(-1)!);
  const addP50 = round(pct(r.adds, 50));
  const addP99 = round(pct(r.adds, 99));
  const perSweep = { node: r.cpu.sweep.node / r.sweeps.length, wg: r.cpu.sweep.wg / r.sweeps.length };
  const perAdd = { node: r.cpu.add.node / r.adds.length, wg: r.cpu.add.wg / r.adds.length };
  console.log(`CPU ms: configure ${PEERS} peers node ${round(r.cpu.configure.node)} + wireguard-go ${round(r.cpu.configure.wg)}; per sweep node ${round(perSweep.node)} + wireguard-go ${round(perSweep.wg)}; per add node ${round(perAdd.node)} + wireguard-go ${round(perAdd.wg)}`);
  if (rec) console.log(`CPU ms: reconcile (peering start incl.) node ${round(rec.cpuNodeMs)} + wireguard-go ${round(rec.cpuWgMs)}`);
  const reconcileMs = rec ? Math.round(rec.reconcileMs) : null;
  console.log(
    `targets at 10,000: sweep ≤ 200 ms ${sweepMax <= 200 ? "met" : "MISSED"} (max ${sweepMax}); add p99 ≤ 20 ms ${addP99 <= 20 ? "met" : "MISSED"}; reconcile ≤ 10 s ${reconcileMs === null ? "not run" : reconcileMs <= 10_000 ? "met" : "MISSED"}`,
  );
  const result = {
    bench: "peers",
    peers: PEERS,
    backend: r.backend,
    sweep_ms_p50: sweepP50,
    sweep_ms_max: sweepMax,
    sweep_ms_runs: r.runs.map((x) => Math.round(x.ms)),
    raw_get_ms_runs: r.runs.map((x) => Math.round(x.rawMs)),
    add_ms_p50: addP50,
    add_ms_p99: addP99,
    reconcile_ms: reconcileMs,
    configure_ms: Math.round(r.configureMs),
    cpu_ms: {
      configure: { node: round(r.cpu.configure.node), wg: round(r.cpu.configure.wg) },
      per_sweep: { node: round(perSweep.node), wg: round(perSweep.wg) },
      per_add: { node: round(perAdd.node), wg: round(perAdd.wg) },
      ...(rec ? { reconcile: { node: round(rec.cpuNodeMs), wg: round(rec.cpuWgMs) } } : {}),
    },
    ...(rec ? { node_sweep_ms: rec.nodeSweepMs.map(round), tenants: rec.tenants } : {}),
  };
  console.log(`RESULT ${JSON.stringify(result)}`);
  return 0;
}

if (flags.inner) {
  inner(flags.inner).then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
} else {
  void outer().then(
    (code) => process.exit(code),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
