/**
 * `npm run bench -- peers`: the hub's WireGuard side at 5,000 peers.
 *
 * One device (real wireguard-go or kernel WireGuard) in a throwaway network
 * namespace, 5,000 peers with /32s in a /16 and no real edges. Measures
 *   - a full status sweep: device.peers() + the health state machine for every peer
 *     (target ≤ 500 ms);
 *   - setPeer latency while adding peers at that size, p99 over ≥ 200 adds
 *     (target ≤ 20 ms).
 * Ends with one `RESULT {...}` line. Needs root; the namespace is removed on exit.
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { generateKeyPair, openDevice, type PeerConfig } from "@daalu/wireguard";
import { DEFAULT_ALERT_AFTER_MS, DEFAULT_DISCONNECT_AFTER_MS, evaluateHealth, type HealthState } from "@daalu/peering";

const PEERS = Number(process.env["BENCH_PEERS"] ?? 5000);
const ADDS = Number(process.env["BENCH_ADDS"] ?? 250);
const SWEEPS = 5;
const TIME_LIMIT_MS = 180_000;

function ipOf(i: number): string {
  // 10.200.0.0/16, skipping .0.0 and .0.1 (the hub).
  const n = i + 2;
  return `10.200.${n >> 8}.${n & 255}`;
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const round = (x: number) => Math.round(x * 100) / 100;

async function inner(iface: string): Promise<void> {
  const t0 = performance.now();
  const keys = Array.from({ length: PEERS + ADDS }, () => generateKeyPair().publicKey);
  const hub = generateKeyPair();
  const peers: PeerConfig[] = keys.slice(0, PEERS).map((publicKey, i) => ({ publicKey, allowedIps: [`${ipOf(i)}/32`] }));
  console.log(`generated ${keys.length} keys in ${Math.round(performance.now() - t0)} ms`);

  const dev = await openDevice(iface);
  try {
    let t = performance.now();
    await dev.configure({ privateKey: hub.privateKey, listenPort: 0, peers, replacePeers: true });
    await dev.addAddress("10.200.0.1/16");
    console.log(`backend ${dev.backend}; configured ${PEERS} peers in one call: ${Math.round(performance.now() - t)} ms`);

    // The hub node's sweep: read every peer, evaluate each with its previous state.
    const now0 = Date.now();
    const previous = new Map<string, { state: HealthState; since: number }>(keys.map((k) => [k, { state: "awaiting_handshake", since: now0 }]));
    // As the hub node does: the rx counter per peer, and when it last grew (the sign of life between rekeys).
    const rx = new Map<string, { bytes: number; lastRxMs: number }>(keys.map((k) => [k, { bytes: -1, lastRxMs: 0 }]));
    const sweeps: number[] = [];
    let seen = 0;
    for (let s = 0; s < SWEEPS; s++) {
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
      sweeps.push(performance.now() - t);
      seen = status.length;
    }
    if (seen !== PEERS) throw new Error(`device reports ${seen} peers, expected ${PEERS}`);
    sweeps.sort((a, b) => a - b);
    console.log(`status sweep over ${seen} peers (${SWEEPS} runs): median ${round(pct(sweeps, 50))} ms, max ${round(sweeps.at(-1)!)} ms`);

    const adds: number[] = [];
    for (let i = 0; i < ADDS; i++) {
      t = performance.now();
      await dev.setPeer({ publicKey: keys[PEERS + i]!, allowedIps: [`${ipOf(PEERS + i)}/32`] });
      adds.push(performance.now() - t);
    }
    adds.sort((a, b) => a - b);
    const total = (await dev.peers()).length;
    if (total !== PEERS + ADDS) throw new Error(`device reports ${total} peers after adds, expected ${PEERS + ADDS}`);
    console.log(`setPeer at ${PEERS}+ peers (${ADDS} adds): p50 ${round(pct(adds, 50))} ms, p99 ${round(pct(adds, 99))} ms, max ${round(adds.at(-1)!)} ms`);

    const sweepMs = round(pct(sweeps, 50));
    const addP99 = round(pct(adds, 99));
    console.log(`targets: sweep ≤ 500 ms ${sweepMs <= 500 ? "met" : "MISSED"}; add p99 ≤ 20 ms ${addP99 <= 20 ? "met" : "MISSED"}`);
    console.log(`RESULT ${JSON.stringify({ bench: "peers", peers: PEERS, backend: dev.backend, status_sweep_ms: sweepMs, peer_add_ms_p99: addP99, status_sweep_ms_max: round(sweeps.at(-1)!) })}`);
  } finally {
    await dev.close();
  }
}

async function outer(): Promise<number> {
  if (process.getuid?.() !== 0) {
    console.error("bench peers needs root (a network namespace and a TUN device)");
    return 2;
  }
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
    const child = spawn("ip", ["netns", "exec", ns, process.execPath, "--import", "tsx", fileURLToPath(import.meta.url), "--inner", iface], {
      stdio: "inherit",
    });
    const timer = setTimeout(() => {
      console.error(`bench peers exceeded ${TIME_LIMIT_MS} ms; stopping`);
      child.kill("SIGKILL");
    }, TIME_LIMIT_MS);
    const code = await new Promise<number>((res) => child.on("exit", (c) => res(c ?? 1)));
    clearTimeout(timer);
    return code;
  } finally {
    kill();
  }
}

if (process.argv[2] === "--inner") {
  inner(process.argv[3]!).then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
} else {
  void outer().then((code) => process.exit(code));
}
