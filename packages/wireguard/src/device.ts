import { spawn, type ChildProcess } from "node:child_process";
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { closeSync } from "node:fs";
import { rm } from "node:fs/promises";
import { Code, DaaluError, type Logger } from "@daalu/runtime";
import { must, run } from "./exec.js";
import { isValidKey } from "./keys.js";
import { UapiBackend, WgToolBackend, type Backend } from "./backends.js";
import { addAddressesBatch, addTunnelRoute, addTunnelRoutes, checkCidr } from "./routes.js";
import type { PeerConfig, PeerStatus } from "./types.js";
import { uapiRequest, uapiSocketPath, UAPI_SOCKET_DIR } from "./uapi.js";
import { DaemonLog, daemonLogPath } from "./daemon-log.js";

export type { PeerConfig, PeerStatus } from "./types.js";

/**
 * A WireGuard interface in the network namespace of the calling process.
 * Calls are serialized per device, so concurrent callers never interleave
 * half-written configuration.
 */
export interface WgDevice {
  readonly name: string;
  readonly backend: "kernel" | "wireguard-go";
  /** Sets the private key, listen port and peers; `replacePeers` drops every peer not listed. */
  configure(opts: { privateKey: string; listenPort?: number; peers?: PeerConfig[]; replacePeers?: boolean }): Promise<void>;
  /** Adds or updates a peer; its allowed IPs are replaced by `p.allowedIps`. */
  setPeer(p: PeerConfig): Promise<void>;
  /** Removes a peer; a no-op when it is not configured. */
  removePeer(publicKey: string): Promise<void>;
  /** Many setPeer and removePeer at once: one UAPI transaction (wireguard-go), `wg set` per 1,000 peers (kernel). */
  setPeers(set: PeerConfig[], remove?: string[]): Promise<void>;
  peers(): Promise<PeerStatus[]>;
  /** `ip addr replace` (an address with the same IP but another prefix is removed first); brings the link up. */
  addAddress(cidr: string): Promise<void>;
  /** addAddress for many addresses: one `ip addr show` and one `ip -batch`. */
  addAddresses(cidrs: string[]): Promise<void>;
  /** Removes an address; a no-op when absent. */
  removeAddress(cidr: string): Promise<void>;
  /**
   * `ip route add <cidr> dev <name> [src <src>]`: traffic for `cidr` goes into
   * the tunnel (from `src`). Never replaces a route of the host: one that the
   * new route would shadow fails with WG_ROUTE_CONFLICT (see routes.ts).
   */
  addRoute(cidr: string, opts?: { src?: string }): Promise<void>;
  /**
   * addRoute for many routes: one look at the host's routes and one `ip -batch`.
   * Returns the WG_ROUTE_CONFLICT error of each route left out, by cidr.
   */
  addRoutes(routes: Array<{ cidr: string; src?: string }>): Promise<Map<string, DaaluError>>;
  /** Removes such a route; a no-op when absent. */
  removeRoute(cidr: string): Promise<void>;
  /** Deletes the interface (which also stops wireguard-go). */
  close(): Promise<void>;
}

export interface OpenDeviceOptions {
  /** `auto` (default): kernel module when available, else wireguard-go. */
  backend?: "auto" | "kernel" | "wireguard-go";
  logger?: Logger;
  /** wireguard-go binary (default: `wireguard-go` on PATH). */
  wireguardGo?: string;
  /** UAPI socket directory (default /var/run/wireguard, where wireguard-go puts it). */
  socketDir?: string;
  /** How long to wait for wireguard-go's socket (default 5 s). */
  startTimeoutMs?: number;
}

/** Linux IFNAMSIZ - 1, and the characters `ip` and wireguard-go both accept. */
const IFNAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;

function badArg(message: string, reason: string): DaaluError {
  return new DaaluError(Code.InvalidArgument, message, { reason });
}

async function linkKind(name: string): Promise<string | undefined> {
  const r = await run("ip", ["-j", "-d", "link", "show", "dev", name]);
  if (r.code !== 0) return undefined;
  const links = JSON.parse(r.stdout) as Array<{ linkinfo?: { info_kind?: string } }>;
  return links[0]?.linkinfo?.info_kind ?? "unknown";
}

async function uapiAlive(socketPath: string): Promise<boolean> {
  try {
    await uapiRequest(socketPath, "get=1\n\n", 2000);
    return true;
  } catch {
    return false;
  }
}

/** `host:port` → numeric `ip:port` (UAPI takes no host names). */
export async function resolveEndpoint(endpoint: string): Promise<string> {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(endpoint) ?? /^([^:]+):(\d{1,5})$/.exec(endpoint);
  if (!m || Number(m[2]) > 65535) throw badArg(`endpoint ${JSON.stringify(endpoint)} is not host:port`, "WG_BAD_ENDPOINT");
  const host = m[1]!;
  const port = m[2]!;
  let ip = host;
  if (!isIP(host)) {
    try {
      ip = (await lookup(host)).address;
    } catch (err) {
      throw new DaaluError(Code.Unavailable, `cannot resolve endpoint host ${host}`, { reason: "WG_ENDPOINT_UNRESOLVED", cause: err });
    }
  }
  return isIP(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
}

async function normalizePeer(p: PeerConfig): Promise<PeerConfig> {
  if (!isValidKey(p.publicKey)) throw badArg("peer public key is not a WireGuard key", "WG_BAD_KEY");
  for (const c of p.allowedIps) checkCidr(c);
  const ka = p.persistentKeepaliveSeconds ?? 0;
  if (!Number.isInteger(ka) || ka < 0 || ka > 65535) throw badArg("persistent keepalive must be 0..65535 seconds", "WG_BAD_KEEPALIVE");
  const out: PeerConfig = { publicKey: p.publicKey, allowedIps: [...p.allowedIps], persistentKeepaliveSeconds: ka };
  if (p.endpoint) out.endpoint = await resolveEndpoint(p.endpoint);
  return out;
}

class Device implements WgDevice {
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    readonly name: string,
    readonly backend: "kernel" | "wireguard-go",
    private readonly impl: Backend,
    private readonly child: ChildProcess | undefined,
    private readonly logger: Logger | undefined,
    private readonly socket?: string,
    /** wireguard-go's output (daemon-log.ts), followed into the logger while this process owns the device. */
    private readonly daemonLog?: DaemonLog,
  ) {}

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(() => {
      if (this.closed) throw new DaaluError(Code.FailedPrecondition, `WireGuard device ${this.name} is closed`, { reason: "WG_DEVICE_CLOSED" });
      return fn();
    });
    this.chain = p.catch(() => undefined);
    return p;
  }

  async configure(opts: { privateKey: string; listenPort?: number; peers?: PeerConfig[]; replacePeers?: boolean }): Promise<void> {
    if (!isValidKey(opts.privateKey)) throw badArg("private key is not a WireGuard key", "WG_BAD_KEY");
    if (opts.listenPort !== undefined && (!Number.isInteger(opts.listenPort) || opts.listenPort < 0 || opts.listenPort > 65535)) {
      throw badArg("listen port must be 0..65535", "WG_BAD_PORT");
    }
    const peers = await Promise.all((opts.peers ?? []).map(normalizePeer));
    await this.serial(() => this.impl.configure(opts.privateKey, opts.listenPort, peers, opts.replacePeers ?? false));
  }

  setPeer(p: PeerConfig): Promise<void> {
    return this.setPeers([p]);
  }

  removePeer(publicKey: string): Promise<void> {
    return this.setPeers([], [publicKey]);
  }

  async setPeers(set: PeerConfig[], remove: string[] = []): Promise<void> {
    for (const k of remove) if (!isValidKey(k)) throw badArg("peer public key is not a WireGuard key", "WG_BAD_KEY");
    const peers = await Promise.all(set.map(normalizePeer));
    await this.serial(() => this.impl.setPeers(peers, remove));
  }

  peers(): Promise<PeerStatus[]> {
    return this.serial(() => this.impl.peers());
  }

  addAddress(cidr: string): Promise<void> {
    return this.addAddresses([cidr]);
  }

  async addAddresses(cidrs: string[]): Promise<void> {
    const want = cidrs.map((c) => ({ cidr: c, ...checkCidr(c) }));
    if (want.length > 0) await this.serial(() => addAddressesBatch(this.name, want));
  }

  async removeAddress(cidr: string): Promise<void> {
    checkCidr(cidr);
    await this.serial(async () => {
      const r = await run("ip", ["addr", "del", cidr, "dev", this.name]);
      if (r.code !== 0 && !/Cannot assign requested address|not found/i.test(r.stderr)) {
        throw new DaaluError(Code.Internal, `ip addr del ${cidr} failed: ${r.stderr.trim()}`, { reason: "WG_COMMAND_FAILED" });
      }
    });
  }

  async addRoute(cidr: string, opts: { src?: string } = {}): Promise<void> {
    checkCidr(cidr);
    if (opts.src !== undefined && !isIP(opts.src)) throw badArg(`route source ${JSON.stringify(opts.src)} is not an IP address`, "WG_BAD_CIDR");
    await this.serial(() => addTunnelRoute(cidr, this.name, opts.src));
  }

  async addRoutes(routes: Array<{ cidr: string; src?: string }>): Promise<Map<string, DaaluError>> {
    for (const r of routes) {
      checkCidr(r.cidr);
      if (r.src !== undefined && !isIP(r.src)) throw badArg(`route source ${JSON.stringify(r.src)} is not an IP address`, "WG_BAD_CIDR");
    }
    if (routes.length === 0) return new Map();
    return this.serial(() => addTunnelRoutes(routes, this.name));
  }

  async removeRoute(cidr: string): Promise<void> {
    checkCidr(cidr);
    await this.serial(async () => {
      const r = await run("ip", ["route", "del", cidr, "dev", this.name]);
      if (r.code !== 0 && !/No such process|not found|Cannot find device/i.test(r.stderr)) {
        throw new DaaluError(Code.Internal, `ip route del ${cidr} failed: ${r.stderr.trim()}`, { reason: "WG_COMMAND_FAILED" });
      }
    });
  }

  async close(): Promise<void> {
    await this.serial(async () => {
      this.closed = true;
      const r = await run("ip", ["link", "del", "dev", this.name]);
      if (r.code !== 0 && !/Cannot find device/i.test(r.stderr)) this.logger?.warn({ iface: this.name, stderr: r.stderr.trim() }, "ip link del failed");
      if (this.child) await stopChild(this.child, 3000);
      if (this.socket) await removeDeadSocket(this.socket);
      this.daemonLog?.stop();
    }).catch((err) => {
      if (err instanceof DaaluError && err.reason === "WG_DEVICE_CLOSED") return;
      throw err;
    });
  }
}

/**
 * wireguard-go removes its socket on a clean exit, but a daemon taken over from
 * a crashed parent can die of SIGPIPE on its way out and leave the file behind.
 */
async function removeDeadSocket(socket: string): Promise<void> {
  const deadline = Date.now() + 3000;
  while ((await uapiAlive(socket)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await rm(socket, { force: true });
}

function stopChild(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t1 = setTimeout(() => child.kill("SIGTERM"), timeoutMs);
    const t2 = setTimeout(() => child.kill("SIGKILL"), timeoutMs * 2);
    child.once("exit", () => {
      clearTimeout(t1);
      clearTimeout(t2);
      resolve();
    });
  });
}

async function spawnWireguardGo(name: string, socket: string, o: OpenDeviceOptions): Promise<{ child: ChildProcess; daemonLog: DaemonLog }> {
  const log = o.logger?.child({ component: "wireguard-go", iface: name });
  // Its output goes to a file, never a pipe to us: the daemon outlives this process (see daemon-log.ts).
  const { log: daemonLog, fd } = DaemonLog.create(daemonLogPath(socket));
  let child: ChildProcess;
  try {
    child = spawn(o.wireguardGo ?? "wireguard-go", ["-f", name], {
      env: { ...process.env, WG_PROCESS_FOREGROUND: "1", LOG_LEVEL: "error" },
      stdio: ["ignore", fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  const output = () => daemonLog.read().slice(0, 20).join(" | ");
  let exited: string | undefined;
  let spawnError: Error | undefined;
  child.on("error", (err) => (spawnError = err));
  child.on("exit", (code, signal) => {
    exited = signal ?? String(code);
    log?.info({ code, signal }, "wireguard-go exited");
  });
  const deadline = Date.now() + (o.startTimeoutMs ?? 5000);
  for (;;) {
    if (spawnError) throw new DaaluError(Code.Unavailable, `cannot start wireguard-go: ${spawnError.message}`, { reason: "WG_START_FAILED", cause: spawnError });
    if (exited !== undefined) {
      throw new DaaluError(Code.Unavailable, `wireguard-go exited (${exited}) before its socket came up: ${output()}`, { reason: "WG_START_FAILED" });
    }
    if (await uapiAlive(socket)) {
      daemonLog.follow((line) => log?.warn({ line }, "wireguard-go"));
      return { child, daemonLog };
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new DaaluError(Code.Unavailable, `wireguard-go socket ${socket} did not come up`, { reason: "WG_START_FAILED" });
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Opens (creating if needed) the WireGuard interface `name` in the caller's
 * network namespace.
 *
 * A device left behind by a crashed process is taken over when its daemon still
 * answers, and deleted and recreated otherwise, so a restarted hub comes up
 * cleanly. The UAPI socket directory is shared by every namespace, so names must
 * be unique on the machine: a live socket whose interface is not in this
 * namespace is refused rather than stolen.
 */
export async function openDevice(name: string, opts: OpenDeviceOptions = {}): Promise<WgDevice> {
  if (!IFNAME_RE.test(name)) throw badArg(`interface name ${JSON.stringify(name)} must be 1-15 of [A-Za-z0-9_.-]`, "WG_BAD_INTERFACE_NAME");
  const want = opts.backend ?? "auto";
  const log = opts.logger?.child({ component: "wireguard", iface: name });
  const socket = uapiSocketPath(name, opts.socketDir ?? UAPI_SOCKET_DIR);

  const kind = await linkKind(name);
  if (kind === "wireguard" && want !== "wireguard-go") {
    log?.info("taking over existing kernel WireGuard interface");
    return new Device(name, "kernel", new WgToolBackend(name), undefined, opts.logger);
  }
  if (kind !== undefined) {
    if (kind === "tun" && want !== "kernel" && (await uapiAlive(socket))) {
      log?.info("taking over running wireguard-go interface");
      const daemonLog = DaemonLog.takeOver(name);
      const wgLog = opts.logger?.child({ component: "wireguard-go", iface: name });
      daemonLog.follow((line) => wgLog?.warn({ line }, "wireguard-go"));
      return new Device(name, "wireguard-go", new UapiBackend(socket), undefined, opts.logger, socket, daemonLog);
    }
    log?.warn({ kind }, "deleting stale interface");
    await must("ip", ["link", "del", "dev", name]);
  } else if (await uapiAlive(socket)) {
    throw new DaaluError(Code.AlreadyExists, `WireGuard interface ${name} is in use in another network namespace`, { reason: "WG_NAME_IN_USE" });
  }

  if (want !== "wireguard-go") {
    const r = await run("ip", ["link", "add", "dev", name, "type", "wireguard"]);
    if (r.code === 0) return new Device(name, "kernel", new WgToolBackend(name), undefined, opts.logger);
    if (want === "kernel") {
      throw new DaaluError(Code.FailedPrecondition, `kernel WireGuard unavailable: ${r.stderr.trim()}`, { reason: "WG_KERNEL_UNAVAILABLE" });
    }
    log?.debug({ stderr: r.stderr.trim() }, "kernel WireGuard unavailable; using wireguard-go");
  }
  const { child, daemonLog } = await spawnWireguardGo(name, socket, opts);
  return new Device(name, "wireguard-go", new UapiBackend(socket), child, opts.logger, socket, daemonLog);
}
