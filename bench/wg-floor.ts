/**
 * The floor of `bench portforward`'s ratio (issue 13): bulk TCP throughput with NO Daalu service in the path.
 *
 *   npm run bench -- wg-floor [--mib 256] [--runs 3] [--jumbo-mtu 8920 | --jumbo-mtu 0]
 *
 * Two processes move `--mib` MiB per run, a sender (a server that writes as fast as backpressure allows) and a
 * receiver (the client that asked, timing from its dial to the last byte), each a `--node` process of this file
 * (bench/lib/wg-floor-node.ts), over:
 * - loopback_tcp / loopback_tls: both in the bench's namespace over 127.0.0.1 — what the direct path of
 *   `bench portforward` costs in transport (kube-double serves TLS, so TLS is the honest comparison);
 * - veth / veth_tls: the receiver in the hub namespace, the sender in the edge namespace, over the underlay
 *   (veth pairs on a bridge: @daalu/netns, as the e2e tests and benches build it), no WireGuard;
 * - wireguard / wireguard_tls: the same two namespaces over their WireGuard addresses, wireguard-go in each opened
 *   by @daalu/wireguard's openDevice as the product opens it, at the MTU the product leaves (wireguard-go's default);
 * - wireguard_jumbo / wireguard_jumbo_tls: EXPLANATORY, NOT A PRODUCT SETTING: the tunnel at `--jumbo-mtu` (veths
 *   at that + 80), to show the per-packet cost; run after the others (`--jumbo-mtu 0` skips it).
 * Every transport takes its turn in each run (after one warm-up each); MiB/s is the median run. Per process, over
 * all timed runs of a transport: CPU ms per MiB user+system (/proc/<pid>/stat), context switches per MiB (all
 * threads) and read/write syscalls per MiB (/proc/<pid>/io; what they count: bench/lib/wg-floor-proc.ts), and the
 * machine's busy and softirq ms per MiB (/proc/stat). Ends with one line
 *   RESULT {"bench":"wg-floor","loopback_tls_mb_s":…,"veth_mb_s":…,"wireguard_mb_s":…,"wireguard_tls_mb_s":…,
 *           "wireguard_go_cpu_ms_per_mib":…,"ratio_ceiling":…,"loadavg_1m":…,…}
 * MiB = 2^20 bytes; wireguard_go_cpu_ms_per_mib = both wireguard-go processes on `wireguard`; ratio_ceiling =
 * wireguard_tls / loopback_tls: the best ratio `bench portforward` could show if every Daalu process cost nothing.
 * Needs root and wireguard-go (exit 3 with a "skipped" RESULT otherwise). Every namespace and wireguard-go it
 * starts is removed on the way out, failure included.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { generateKeyPair } from "@daalu/wireguard";
import { Netns, netnsUnavailableReason, WG_PORT, type NsHost } from "@daalu/netns";
import { log, numArg, r2, r3, runMain } from "./lib/bench-cli.js";
import { findPids, machineCpuSeconds } from "./lib/cpu.js";
import { gatewayTls } from "./lib/gateway-tls.js";
import { runNode } from "./lib/wg-floor-node.js";
import { median, minus, plus, readCounters, startNode, zero, type Counters, type FloorNode } from "./lib/wg-floor-proc.js";

const MIB = numArg("mib", 256);
const RUNS = Math.max(1, numArg("runs", 3));
const JUMBO_MTU = numArg("jumbo-mtu", 8920);
const WARMUP_BYTES = 16 << 20;
const HUB_TUN = "10.99.0.1";
const EDGE_TUN = "10.100.0.2";
const SELF = fileURLToPath(import.meta.url);

interface Transport {
  name: string;
  recv: FloorNode;
  send: FloorNode;
  host: string;
  port: number;
  tls: boolean;
  wg: boolean;
}

interface Tally {
  mbs: number[];
  cipher?: string;
  /** Per role (sender, receiver, wireguard-go edge/hub), summed over the timed runs. */
  procs: Map<string, Counters>;
  machine: { busy: number; softirq: number };
}

function ipn(ns: string, ...args: string[]): void {
  execFileSync("ip", ["-n", ns, ...args], { stdio: ["ignore", "ignore", "pipe"] });
}

function mtuOf(ns: string, dev: string): number {
  const [link] = JSON.parse(execFileSync("ip", ["-n", ns, "-j", "link", "show", "dev", dev]).toString()) as Array<{ mtu: number }>;
  return link!.mtu;
}

/** A `--node` process inside `host`'s namespace (stdin piped: NsHost.spawn gives none), killed by Netns cleanup. */
function nodeIn(name: string, host: NsHost): FloorNode {
  return startNode(name, SELF, (cmd, args) => {
    const c = spawn("ip", ["netns", "exec", host.ns, cmd, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    host.track(c);
    return c;
  });
}

/** One timed run of `t`: MiB/s, and each watched process's counters over it, added to `tally`. */
async function timedRun(t: Transport, bytes: number, wgPids: Record<string, number>, caFile: string, tally: Tally): Promise<number> {
  const pids: Record<string, number> = { sender: t.send.pid, receiver: t.recv.pid, ...(t.wg ? wgPids : {}) };
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, readCounters(pid)]));
  const m0 = machineCpuSeconds();
  const r = await t.recv.send({ op: "get", host: t.host, port: t.port, tls: t.tls, caFile, bytes }, 600_000);
  const m1 = machineCpuSeconds();
  for (const [k, pid] of Object.entries(pids)) tally.procs.set(k, plus(tally.procs.get(k) ?? zero(), minus(readCounters(pid), before[k]!)));
  tally.machine.busy += m1.busy - m0.busy;
  tally.machine.softirq += m1.softirq - m0.softirq;
  if (r.cipher) tally.cipher = r.cipher;
  const mbs = bytes / 2 ** 20 / (r.ms! / 1000);
  tally.mbs.push(mbs);
  return mbs;
}

const ROLES = ["sender", "receiver", "wireguard-go edge", "wireguard-go hub"];

/** The per-transport tables: MiB/s, then per process CPU ms/MiB (user+sys), context switches and syscalls per MiB. */
function report(tallies: Map<string, Tally>, mibPerTransport: number): void {
  const w = Math.max(...[...tallies.keys()].map((k) => k.length), 10) + 2;
  const per = (c: Counters | undefined, f: (c: Counters) => number) => (c ? f(c) / mibPerTransport : undefined);
  const cell = (v: string) => v.padStart(20);
  log(`\nthroughput (MiB/s; median of ${RUNS} runs of ${MIB} MiB) and CPU ms per MiB, user+system, per process (/proc/<pid>/stat)`);
  log(`  ${"transport".padEnd(w)}${"MiB/s".padStart(9)}  ${ROLES.map(cell).join("")}  ${"machine busy/softirq".padStart(21)}  runs`);
  for (const [name, t] of tallies) {
    const cpu = ROLES.map((k) => {
      const c = t.procs.get(k);
      return cell(c ? `${(per(c, (x) => x.user * 1000)! + per(c, (x) => x.sys * 1000)!).toFixed(2)} (${per(c, (x) => x.user * 1000)!.toFixed(2)}+${per(c, (x) => x.sys * 1000)!.toFixed(2)})` : "-");
    });
    const mach = `  ${`${((t.machine.busy * 1000) / mibPerTransport).toFixed(2)}/${((t.machine.softirq * 1000) / mibPerTransport).toFixed(2)}`.padStart(21)}`;
    log(`  ${name.padEnd(w)}${r2(median(t.mbs)).toFixed(2).padStart(9)}  ${cpu.join("")}${mach}  ${t.mbs.map((x) => r2(x)).join(" ")}`);
  }
  log(`\nper MiB: context switches (voluntary+nonvoluntary, all threads) / read+write syscalls (/proc/<pid>/io syscr+syscw)`);
  log(`  ${"transport".padEnd(w)}  ${ROLES.map(cell).join("")}`);
  for (const [name, t] of tallies) {
    const cs = ROLES.map((k) => {
      const c = t.procs.get(k);
      return cell(c ? `${per(c, (x) => x.ctx)!.toFixed(1)} / ${per(c, (x) => x.syscalls)!.toFixed(1)}` : "-");
    });
    log(`  ${name.padEnd(w)}  ${cs.join("")}`);
  }
  log("  (/proc counts CPU in 10 ms ticks; machine busy also holds whatever else ran on the box; TUN reads/writes are read(2)/write(2), UDP sendmsg/recvmsg are not counted)");
}

async function main(): Promise<number> {
  const skip = netnsUnavailableReason();
  if (skip) {
    log(`wg-floor: cannot run: ${skip}`);
    log(`RESULT ${JSON.stringify({ bench: "wg-floor", skipped: skip })}`);
    return 3;
  }
  const version = execFileSync("wireguard-go", ["--version"]).toString().split("\n")[0]!.trim();
  log(`wg-floor bench: mib=${MIB} runs=${RUNS} jumbo-mtu=${JUMBO_MTU || "off"}; ${version}; ${cpus().length} cores; load average ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
  const dir = mkdtempSync(path.join(tmpdir(), "wg-floor-"));
  const { caFile, certFile, keyFile } = gatewayTls(dir, ["127.0.0.1", "192.0.2.10", EDGE_TUN]);
  const net = await Netns.create(1);
  const [hubHost, edgeHost] = [net.hub, net.edges[0]!];
  const nodes: FloorNode[] = [];
  try {
    const rootRecv = startNode("root receiver", SELF);
    const rootSend = startNode("root sender", SELF);
    const hub = nodeIn("hub", hubHost);
    const edge = nodeIn("edge", edgeHost);
    nodes.push(rootRecv, rootSend, hub, edge);

    const [hk, ek] = [generateKeyPair(), generateKeyPair()];
    const ifaces = { hub: net.ifname("fh"), edge: net.ifname("fe") };
    await hub.send({ op: "wg", iface: ifaces.hub, privateKey: hk.privateKey, listenPort: WG_PORT, address: `${HUB_TUN}/32`, peer: { publicKey: ek.publicKey, allowedIps: [`${EDGE_TUN}/32`], endpoint: `${edgeHost.addr}:${WG_PORT}` } });
    await edge.send({ op: "wg", iface: ifaces.edge, privateKey: ek.privateKey, listenPort: WG_PORT, address: `${EDGE_TUN}/32`, peer: { publicKey: hk.publicKey, allowedIps: [`${HUB_TUN}/32`], endpoint: `${hubHost.addr}:${WG_PORT}` } });
    ipn(hubHost.ns, "route", "add", `${EDGE_TUN}/32`, "dev", ifaces.hub);
    ipn(edgeHost.ns, "route", "add", `${HUB_TUN}/32`, "dev", ifaces.edge);
    const wgPid = (iface: string) => findPids((c) => c.startsWith("wireguard-go ") && c.endsWith(` ${iface}`))[0] ?? 0;
    const wgPids = { "wireguard-go edge": wgPid(ifaces.edge), "wireguard-go hub": wgPid(ifaces.hub) };
    const productMtu = mtuOf(hubHost.ns, ifaces.hub);
    log(`topology: namespaces hub (receiver, ${hubHost.addr}) and edge (sender, ${edgeHost.addr}) on one bridge, veth MTU ${mtuOf(hubHost.ns, hubHost.link)}; WireGuard ${HUB_TUN} <-> ${EDGE_TUN}, wireguard-go in each (pids hub ${wgPids["wireguard-go hub"]}, edge ${wgPids["wireguard-go edge"]}), tunnel MTU ${productMtu} (as the product leaves it)`);

    const [es, rs] = [await edge.send({ op: "serve", certFile, keyFile }), await rootSend.send({ op: "serve", certFile, keyFile })];
    const transports: Transport[] = [
      { name: "loopback_tcp", recv: rootRecv, send: rootSend, host: "127.0.0.1", port: rs.tcpPort!, tls: false, wg: false },
      { name: "loopback_tls", recv: rootRecv, send: rootSend, host: "127.0.0.1", port: rs.tlsPort!, tls: true, wg: false },
      { name: "veth", recv: hub, send: edge, host: edgeHost.addr, port: es.tcpPort!, tls: false, wg: false },
      { name: "veth_tls", recv: hub, send: edge, host: edgeHost.addr, port: es.tlsPort!, tls: true, wg: false },
      { name: "wireguard", recv: hub, send: edge, host: EDGE_TUN, port: es.tcpPort!, tls: false, wg: true },
      { name: "wireguard_tls", recv: hub, send: edge, host: EDGE_TUN, port: es.tlsPort!, tls: true, wg: true },
    ];
    const bytes = Math.round(MIB * 2 ** 20);
    const tallies = new Map<string, Tally>();
    const fresh = (): Tally => ({ mbs: [], procs: new Map(), machine: { busy: 0, softirq: 0 } });
    const warm = { ...fresh() };
    for (const t of transports) await timedRun(t, WARMUP_BYTES, wgPids, caFile, warm);
    for (let r = 1; r <= RUNS; r++) {
      for (const t of transports) {
        const tally = tallies.get(t.name) ?? fresh();
        tallies.set(t.name, tally);
        const mbs = await timedRun(t, bytes, wgPids, caFile, tally);
        log(`  run ${r}/${RUNS} ${t.name}: ${r2(mbs)} MiB/s${tally.cipher ? ` (${tally.cipher})` : ""}`);
      }
    }

    if (JUMBO_MTU > 0) {
      // EXPLANATORY ONLY: the product never sets an MTU. Veths (both ends, the bridge follows) at MTU + 80.
      const lan = net.namespaces.find((n) => n.endsWith("-l"))!;
      for (const port of ["vh0", "ve0"]) ipn(lan, "link", "set", "dev", port, "mtu", String(JUMBO_MTU + 80));
      for (const h of [hubHost, edgeHost]) ipn(h.ns, "link", "set", "dev", h.link, "mtu", String(JUMBO_MTU + 80));
      ipn(hubHost.ns, "link", "set", "dev", ifaces.hub, "mtu", String(JUMBO_MTU));
      ipn(edgeHost.ns, "link", "set", "dev", ifaces.edge, "mtu", String(JUMBO_MTU));
      log(`jumbo rows (NOT A PRODUCT SETTING, explanatory): tunnel MTU ${mtuOf(hubHost.ns, ifaces.hub)}/${mtuOf(edgeHost.ns, ifaces.edge)}, veth MTU ${mtuOf(hubHost.ns, hubHost.link)}`);
      const jumbo = transports.filter((t) => t.wg).map((t) => ({ ...t, name: t.name.replace("wireguard", "wireguard_jumbo") }));
      for (const t of jumbo) await timedRun(t, WARMUP_BYTES, wgPids, caFile, warm);
      for (let r = 1; r <= RUNS; r++) {
        for (const t of jumbo) {
          const tally = tallies.get(t.name) ?? fresh();
          tallies.set(t.name, tally);
          log(`  run ${r}/${RUNS} ${t.name}: ${r2(await timedRun(t, bytes, wgPids, caFile, tally))} MiB/s (not a product setting)`);
        }
      }
    }

    report(tallies, MIB * RUNS);
    const mb = (k: string) => (tallies.has(k) ? r2(median(tallies.get(k)!.mbs)) : undefined);
    const wgCpu = (k: string) => {
      const t = tallies.get(k);
      if (!t) return undefined;
      const c = plus(t.procs.get("wireguard-go edge") ?? zero(), t.procs.get("wireguard-go hub") ?? zero());
      return r3(((c.user + c.sys) * 1000) / (MIB * RUNS));
    };
    const result = {
      bench: "wg-floor",
      mib: MIB,
      runs: RUNS,
      wireguard_go: version.replace(/^wireguard-go\s+/, ""),
      tunnel_mtu: productMtu,
      loopback_tcp_mb_s: mb("loopback_tcp"),
      loopback_tls_mb_s: mb("loopback_tls"),
      veth_mb_s: mb("veth"),
      veth_tls_mb_s: mb("veth_tls"),
      wireguard_mb_s: mb("wireguard"),
      wireguard_tls_mb_s: mb("wireguard_tls"),
      wireguard_go_cpu_ms_per_mib: wgCpu("wireguard"),
      wireguard_tls_go_cpu_ms_per_mib: wgCpu("wireguard_tls"),
      ratio_ceiling: r3(median(tallies.get("wireguard_tls")!.mbs) / median(tallies.get("loopback_tls")!.mbs)),
      ...(JUMBO_MTU > 0 ? { jumbo_mtu_not_product: JUMBO_MTU, wireguard_jumbo_mb_s: mb("wireguard_jumbo"), wireguard_jumbo_tls_mb_s: mb("wireguard_jumbo_tls"), wireguard_jumbo_go_cpu_ms_per_mib: wgCpu("wireguard_jumbo") } : {}),
      loadavg_1m: r2(loadavg()[0]!),
    };
    log(`RESULT ${JSON.stringify(result)}`);
    return 0;
  } finally {
    for (const n of nodes) await n.quit().catch(() => undefined);
    // Backstop: whatever still runs in the namespaces (a wireguard-go whose node died) goes with them.
    for (const h of [hubHost, edgeHost]) await h.killProcesses().catch(() => undefined);
    await net.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes("--node")) await runNode();
else runMain(main);
