/**
 * A throwaway network (end-to-end tests, benches, `./daalu.sh demo`): a "lan" network namespace holding
 * only a bridge (the underlay), K "hub" namespaces (hub nodes, 192.0.2.1…) and N "edge" namespaces
 * (192.0.2.10…), each joined to the bridge by a veth pair, so any one host (a hub node too) can be cut
 * off or have its processes killed while the others keep talking. All
 * addresses are TEST-NET-1 (192.0.2.0/24) and live only inside the
 * namespaces; nothing is added to the caller's namespace. Names carry a random
 * run id so parallel runs never collide (wireguard-go's UAPI sockets share one
 * directory across namespaces, so interface names must be unique too:
 * `ifname()`).
 *
 * Processes run inside a namespace with `ip netns exec`. Services that only
 * listen on the caller's loopback (PostgreSQL, NATS, the kube-double) are
 * reached from inside through `forward()`: a relay listening on the
 * namespace's loopback, piped over a unix socket (namespaces do not isolate
 * the file system) to the real address.
 *
 * `cleanup()` kills every process started here, closes relays and deletes the
 * namespaces (which deletes their links and WireGuard interfaces). It also
 * runs on process exit, so a failing test leaves nothing behind.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, constants, mkdirSync, readFileSync, rmSync } from "node:fs";
import { connect, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** Ports of URLs that name none (forwardUrls). */
const DEFAULT_PORTS: Record<string, number> = { "postgres:": 5432, "postgresql:": 5432, "nats:": 4222 };

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const RELAY = path.join(path.dirname(fileURLToPath(import.meta.url)), "relay.ts");

export const HUB_UNDERLAY_IP = "192.0.2.1";
const UNDERLAY_PREFIX = 24;
/** Hub nodes take 192.0.2.1…9, edges 192.0.2.10 on. */
const MAX_HUBS = 9;

/** Hub node `i`'s underlay address (node 0: HUB_UNDERLAY_IP). */
export function hubUnderlayIp(i: number): string {
  return `192.0.2.${1 + i}`;
}

function onPath(bin: string): boolean {
  for (const dir of (process.env["PATH"] ?? "").split(":")) {
    try {
      accessSync(path.join(dir, bin), constants.X_OK);
      return true;
    } catch {
      // next
    }
  }
  return false;
}

/**
 * Why namespaces with WireGuard cannot be made here, or undefined when they
 * can. They need root (network namespaces, NET_ADMIN), `ip`, and wireguard-go
 * (the kernel module is used when present, but wireguard-go is the portable floor).
 */
export function netnsUnavailableReason(): string | undefined {
  if (process.platform !== "linux") return "network namespaces need Linux";
  if (process.getuid?.() !== 0) return "needs root for network namespaces and WireGuard interfaces (run as root, e.g. in CI's container)";
  for (const bin of ["ip", "wg", "wireguard-go"]) if (!onPath(bin)) return `${bin} is not installed (apt-get install iproute2 wireguard-tools wireguard-go)`;
  try {
    accessSync("/dev/net/tun", constants.R_OK | constants.W_OK);
  } catch {
    return "/dev/net/tun is not available for wireguard-go";
  }
  return undefined;
}

/** Every command is bounded, so a wedged child can never hang a test past its own timeout. */
const RUN_TIMEOUT_MS = 30_000;

function run(cmd: string, args: string[], timeoutMs = RUN_TIMEOUT_MS): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { cwd: ROOT, timeout: timeoutMs, killSignal: "SIGKILL" }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} ${args.join(" ")}: ${String(stderr).trim() || err.message}`)) : resolve(String(stdout)),
    ),
  );
}

/** Live networks, cleaned up on exit and on SIGTERM/SIGINT (a cancelled or killed test run). */
const live = new Set<Netns>();
let signalsHooked = false;
function hookSignals(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    process.once(sig, () => {
      for (const n of [...live]) n.cleanupNow();
      // Other handlers (the test runner's) may keep the process alive; it is being stopped.
      process.exit(sig === "SIGINT" ? 130 : 143);
    });
  }
}

/** Whether `pid` still runs (a zombie counts as gone). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** A namespace-bound host. */
export class NsHost {
  /** The relays forward() started here (killProcesses() spares them). */
  private readonly relays: ChildProcess[] = [];

  constructor(
    private readonly net: Netns,
    readonly ns: string,
    /** The host's underlay address (192.0.2.x). */
    readonly addr: string,
    /** The underlay link inside this namespace (eth0, the veth into the lan's bridge). */
    readonly link: string,
  ) {}

  /** Runs a command inside the namespace (killed after `timeoutMs`); resolves with stdout. */
  exec(cmd: string, args: string[], timeoutMs?: number): Promise<string> {
    return run("ip", ["netns", "exec", this.ns, cmd, ...args], timeoutMs);
  }

  /** Starts a long-running process inside the namespace; it is killed by cleanup(). */
  spawn(cmd: string, args: string[], env: Record<string, string | undefined> = {}): ChildProcess {
    const child = spawn("ip", ["netns", "exec", this.ns, cmd, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: this.net.ownGroups });
    this.net.track(child);
    return child;
  }

  /** Kills `child` (started inside this namespace by someone else, e.g. spawnProcess) at cleanup(). */
  track(child: ChildProcess): void {
    this.net.track(child);
  }

  /** Takes the underlay link down: the host can no longer send (or receive) anything. */
  async cutEgress(): Promise<void> {
    await run("ip", ["-n", this.ns, "link", "set", this.link, "down"]);
  }

  async restoreEgress(): Promise<void> {
    await run("ip", ["-n", this.ns, "link", "set", this.link, "up"]);
  }

  /**
   * SIGKILLs every process in this namespace (whoever started it: services, a
   * wireguard-go that outlived its parent) except the relays forward() started,
   * so a host "dies" and can be brought back with the same relays. Resolves
   * with the pids killed once none of them is alive.
   */
  async killProcesses(): Promise<number[]> {
    const relays = new Set(this.relays.map((r) => r.pid));
    const pids = (await run("ip", ["netns", "pids", this.ns]))
      .split(/\s+/)
      .filter(Boolean)
      .map(Number)
      .filter((pid) => !relays.has(pid) && pid !== process.pid);
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // exited meanwhile
      }
    }
    const deadline = Date.now() + 10_000;
    while (pids.some(alive)) {
      if (Date.now() > deadline) throw new Error(`processes in ${this.ns} survive SIGKILL: ${pids.filter(alive).join(" ")}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return pids;
  }

  /**
   * Makes each server URL (postgres://…, nats://…) work unchanged inside this
   * namespace: its port on 127.0.0.1 there reaches the server as the test
   * process sees it, so services started inside get the same URLs.
   */
  async forwardUrls(...urls: string[]): Promise<void> {
    await Promise.all(
      urls.map((raw) => {
        const u = new URL(raw);
        const port = Number(u.port || DEFAULT_PORTS[u.protocol]);
        if (!port) throw new Error(`forwardUrls: ${u.protocol} URL without a port`);
        return this.forward(port, { host: u.hostname, port });
      }),
    );
  }

  /**
   * Makes `127.0.0.1:<port>` inside this namespace reach `target` as seen from
   * the test process (e.g. the kube-double, NATS, PostgreSQL).
   */
  async forward(port: number, target: { host: string; port: number }): Promise<void> {
    const sock = path.join(this.net.dir, `${this.ns}-${port}.sock`);
    const server = createServer((c) => {
      const up = connect(target.port, target.host);
      c.pipe(up).pipe(c);
      c.on("error", () => up.destroy());
      up.on("error", () => c.destroy());
    });
    await new Promise<void>((r) => server.listen(sock, r));
    this.net.trackServer(server);
    const relay = this.spawn(process.execPath, ["--import", "tsx", RELAY, "127.0.0.1", String(port), sock]);
    this.relays.push(relay);
    await new Promise<void>((resolve, reject) => {
      let out = "";
      relay.stdout!.on("data", (b: Buffer) => {
        out += b.toString();
        if (out.includes("relay listening")) resolve();
      });
      relay.stderr!.on("data", (b: Buffer) => (out += b.toString()));
      relay.once("exit", (code) => reject(new Error(`relay in ${this.ns} exited (${code}): ${out}`)));
    });
  }
}

/** The whole test network. */
export class Netns {
  readonly id = randomBytes(3).toString("hex");
  readonly dir = path.join(tmpdir(), `daalu-e2e-${this.id}`);
  readonly edges: NsHost[] = [];
  private readonly children = new Set<ChildProcess>();
  private readonly servers = new Set<Server>();
  /** The namespaces made so far: lan, hubs, edges. */
  readonly namespaces: string[] = [];
  private readonly ifnames = new Set<string>();
  private readonly exitHook = () => this.cleanupSync();
  private cleaned = false;
  /**
   * Processes started here get their own process group (when the caller handles
   * SIGINT itself): a terminal's Ctrl-C then reaches only the caller, which stops
   * its services before the relays they use.
   */
  ownGroups = false;
  /** Hub node 0 (`hubs[0]`). */
  hub!: NsHost;
  /** Every hub node, in the order of their underlay addresses (hubUnderlayIp). */
  readonly hubs: NsHost[] = [];
  /** The namespace holding the bridge every host's eth0 is plugged into. */
  private lan!: string;

  private constructor() {}

  /**
   * Creates the lan (bridge), `opts.hubs` hub namespaces (default 1; node i at
   * 192.0.2.(1+i)) and `edges` edge namespaces. `exitOnSignal: false` leaves
   * SIGINT/SIGTERM to the caller, which must then call cleanup() itself (it
   * still runs on exit).
   */
  static async create(edges = 1, opts: { exitOnSignal?: boolean; hubs?: number } = {}): Promise<Netns> {
    const hubs = opts.hubs ?? 1;
    if (!Number.isInteger(hubs) || hubs < 1 || hubs > MAX_HUBS) throw new Error(`hubs must be 1..${MAX_HUBS}, got ${hubs}`);
    const n = new Netns();
    mkdirSync(n.dir, { recursive: true });
    process.once("exit", n.exitHook);
    live.add(n);
    if (opts.exitOnSignal ?? true) hookSignals();
    else n.ownGroups = true;
    try {
      n.lan = await n.addNamespace("l");
      await run("ip", ["-n", n.lan, "link", "add", "br0", "type", "bridge"]);
      await run("ip", ["-n", n.lan, "link", "set", "br0", "up"]);
      for (let i = 0; i < hubs; i++) n.hubs.push(await n.plug(i === 0 ? "h" : `h${i}`, `vh${i}`, hubUnderlayIp(i)));
      n.hub = n.hubs[0]!;
      for (let i = 0; i < edges; i++) await n.addEdge();
      return n;
    } catch (err) {
      await n.cleanup();
      throw err;
    }
  }

  /** A unique interface name for this run (≤ 15 chars). */
  ifname(role: string): string {
    const name = `${role}${this.id}`.slice(0, 15);
    this.ifnames.add(name);
    return name;
  }

  private async addNamespace(suffix: string): Promise<string> {
    const ns = `daalu-${this.id}-${suffix}`;
    await run("ip", ["netns", "add", ns]);
    this.namespaces.push(ns);
    await run("ip", ["-n", ns, "link", "set", "lo", "up"]);
    return ns;
  }

  /** Adds an edge host: its own namespace, eth0 = 192.0.2.(10+i)/24 on the lan's bridge. */
  async addEdge(): Promise<NsHost> {
    const i = this.edges.length;
    const host = await this.plug(`e${i}`, `ve${i}`, `192.0.2.${10 + i}`);
    this.edges.push(host);
    return host;
  }

  /** A new namespace whose eth0 (`addr`) is the veth peer of `port` on the lan's bridge. */
  private async plug(suffix: string, port: string, addr: string): Promise<NsHost> {
    const ns = await this.addNamespace(suffix);
    // Created inside the lan namespace, peer moved straight into the new one: no name ever exists in ours.
    await run("ip", ["-n", this.lan, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns]);
    await run("ip", ["-n", this.lan, "link", "set", port, "master", "br0", "up"]);
    await run("ip", ["-n", ns, "addr", "add", `${addr}/${UNDERLAY_PREFIX}`, "dev", "eth0"]);
    await run("ip", ["-n", ns, "link", "set", "eth0", "up"]);
    return new NsHost(this, ns, addr, "eth0");
  }

  /** @internal */
  track(child: ChildProcess): void {
    this.children.add(child);
    child.once("exit", () => this.children.delete(child));
  }

  /** @internal */
  trackServer(s: Server): void {
    this.servers.add(s);
  }

  /** Kills processes, closes relays, deletes namespaces. Safe to call twice. */
  async cleanup(): Promise<void> {
    if (this.cleaned) return;
    const exits = [...this.children].map((c) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once("exit", () => r()))));
    for (const c of this.children) c.kill("SIGKILL");
    await Promise.race([Promise.all(exits), new Promise((r) => setTimeout(r, 3000))]);
    for (const s of this.servers) s.close();
    this.cleanupSync();
  }

  /** @internal Synchronous cleanup for signal handlers. */
  cleanupNow(): void {
    this.cleanupSync();
  }

  private cleanupSync(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    live.delete(this);
    process.removeListener("exit", this.exitHook);
    for (const c of this.children) c.kill("SIGKILL");
    for (const ns of this.namespaces.reverse()) {
      try {
        execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
      } catch {
        // already gone
      }
    }
    // A SIGKILLed wireguard-go leaves its UAPI socket in the shared directory.
    for (const name of this.ifnames) rmSync(path.join("/var/run/wireguard", `${name}.sock`), { force: true });
    rmSync(this.dir, { recursive: true, force: true });
  }
}
