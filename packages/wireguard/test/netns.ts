/**
 * Network-namespace fixtures for WireGuard tests: two namespaces joined by a
 * veth pair, and an agent process per namespace that owns a device there.
 * Everything created here is removed by `cleanup()`, also after a failure.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { createInterface } from "node:readline";
import type { PeerConfig, PeerStatus } from "../src/index.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const AGENT = path.join(path.dirname(fileURLToPath(import.meta.url)), "ns-agent.ts");

/** Why namespace tests cannot run here, or undefined when they can. */
export function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (network namespaces + TUN devices)";
  if (spawnSync("wireguard-go", ["--version"]).error) return "wireguard-go is not installed";
  if (spawnSync("ip", ["netns", "list"]).status !== 0) return "`ip netns` is unavailable";
  return undefined;
}

/**
 * The namespace suites' guard test: a skip must name a precondition this machine really lacks
 * (probed here apart from skipReason), a run must have them all, and CI (root, with wireguard-go
 * installed by scripts/ensure-services.sh) never skips. Catches a suite that silently stops running.
 */
export function assertSkipMatchesMachine(skip: string | undefined): void {
  const lacks: string[] = [];
  if (spawnSync("id", ["-u"], { encoding: "utf8" }).stdout.trim() !== "0") lacks.push("root");
  if (spawnSync("sh", ["-c", "command -v wireguard-go"]).status !== 0) lacks.push("wireguard-go");
  if (spawnSync("ip", ["netns", "list"]).status !== 0) lacks.push("ip netns");
  if (skip === undefined) assert.deepEqual(lacks, [], "the namespace suite ran on a machine that lacks what it needs");
  else assert.notDeepEqual(lacks, [], `the namespace suite skipped ("${skip}") on a machine with root, wireguard-go and ip netns`);
  if (process.env["CI"]) assert.equal(skip, undefined, "CI runs as root with wireguard-go: the namespace suite must run there");
}

export function sh(args: string[], allowFail = false): { code: number; out: string } {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: "utf8" });
  const code = r.status ?? -1;
  if (code !== 0 && !allowFail) throw new Error(`${args.join(" ")}: ${r.stderr}`);
  return { code, out: `${r.stdout}${r.stderr}` };
}

/** Runs a command inside namespace `ns`. */
export function inNs(ns: string, args: string[], allowFail = false): { code: number; out: string } {
  return sh(["ip", "netns", "exec", ns, ...args], allowFail);
}

/**
 * Deletes a namespace after killing what we started inside it (agents,
 * wireguard-go): those processes would otherwise keep it alive.
 */
export function removeNs(ns: string): void {
  const pids = sh(["ip", "netns", "pids", ns], true).out.split(/\s+/).filter((p) => /^\d+$/.test(p));
  for (const pid of pids) spawnSync("kill", ["-KILL", pid]);
  sh(["ip", "netns", "del", ns], true);
}

export interface NsPair {
  id: string;
  a: string;
  b: string;
  /** Underlay addresses of the veth ends. */
  aAddr: string;
  bAddr: string;
  /** Takes the underlay link down/up (simulates a network outage). */
  setLink(up: boolean): void;
  cleanup(): void;
}

/** Two namespaces joined by veth `<id>a`/`<id>b` on 10.250.<n>.0/30. */
export function createNsPair(): NsPair {
  const id = randomBytes(3).toString("hex");
  const a = `dlt-${id}-a`;
  const b = `dlt-${id}-b`;
  const n = parseInt(id.slice(0, 2), 16);
  const aAddr = `10.250.${n}.1`;
  const bAddr = `10.250.${n}.2`;
  const pair: NsPair = {
    id,
    a,
    b,
    aAddr,
    bAddr,
    setLink(up) {
      inNs(b, ["ip", "link", "set", "dev", `v${id}b`, up ? "up" : "down"]);
    },
    cleanup() {
      removeNs(a);
      removeNs(b);
    },
  };
  try {
    sh(["ip", "netns", "add", a]);
    sh(["ip", "netns", "add", b]);
    sh(["ip", "link", "add", `v${id}a`, "netns", a, "type", "veth", "peer", "name", `v${id}b`, "netns", b]);
    inNs(a, ["ip", "addr", "add", `${aAddr}/30`, "dev", `v${id}a`]);
    inNs(b, ["ip", "addr", "add", `${bAddr}/30`, "dev", `v${id}b`]);
    for (const [ns, dev] of [[a, `v${id}a`], [b, `v${id}b`]] as const) {
      inNs(ns, ["ip", "link", "set", "dev", dev, "up"]);
      inNs(ns, ["ip", "link", "set", "dev", "lo", "up"]);
    }
  } catch (err) {
    pair.cleanup();
    throw err;
  }
  return pair;
}

export interface RootLinkedNs {
  ns: string;
  /** Root-namespace end and namespace end of the veth. */
  rootAddr: string;
  nsAddr: string;
  /** Takes the namespace end down/up (a network outage for whatever lives inside). */
  setLink(up: boolean): void;
  cleanup(): void;
}

/**
 * One namespace joined to the root namespace by veth on 10.251.<n>.0/30, for a
 * hub that stays in the root namespace (where PostgreSQL and NATS listen on
 * loopback) talking to a peer inside the namespace.
 */
export function createRootLinkedNs(): RootLinkedNs {
  const id = randomBytes(3).toString("hex");
  const ns = `dlt-${id}-n`;
  const n = parseInt(id.slice(0, 2), 16);
  const rootAddr = `10.251.${n}.1`;
  const nsAddr = `10.251.${n}.2`;
  const rootDev = `v${id}r`;
  const nsDev = `v${id}n`;
  const out: RootLinkedNs = {
    ns,
    rootAddr,
    nsAddr,
    setLink(up) {
      inNs(ns, ["ip", "link", "set", "dev", nsDev, up ? "up" : "down"]);
    },
    cleanup() {
      sh(["ip", "link", "del", rootDev], true);
      removeNs(ns);
    },
  };
  try {
    sh(["ip", "netns", "add", ns]);
    sh(["ip", "link", "add", rootDev, "type", "veth", "peer", "name", nsDev, "netns", ns]);
    sh(["ip", "addr", "add", `${rootAddr}/30`, "dev", rootDev]);
    sh(["ip", "link", "set", "dev", rootDev, "up"]);
    inNs(ns, ["ip", "addr", "add", `${nsAddr}/30`, "dev", nsDev]);
    inNs(ns, ["ip", "link", "set", "dev", nsDev, "up"]);
    inNs(ns, ["ip", "link", "set", "dev", "lo", "up"]);
  } catch (err) {
    out.cleanup();
    throw err;
  }
  return out;
}

/** A process inside a namespace that owns one WireGuard device. */
export interface NsAgent {
  child: ChildProcess;
  call<T = unknown>(op: string, args?: unknown): Promise<T>;
  open(name: string): Promise<{ name: string; backend: string }>;
  configure(opts: { privateKey: string; listenPort?: number; peers?: PeerConfig[]; replacePeers?: boolean }): Promise<void>;
  setPeer(p: PeerConfig): Promise<void>;
  removePeer(publicKey: string): Promise<void>;
  peers(): Promise<PeerStatus[]>;
  addAddress(cidr: string): Promise<void>;
  addRoute(cidr: string, src?: string): Promise<void>;
  close(): Promise<void>;
  listen(host: string, port: number): Promise<void>;
  tcp(host: string, port: number, message: string, timeoutMs?: number): Promise<string>;
  /** Serves a stand-in EdgeService.GetStatus on host:port. */
  serveEdge(host: string, port: number): Promise<void>;
  setEdge(status: { apiReachable?: boolean; apiError?: string; edgeVersion?: string }): Promise<void>;
  /** SIGKILL, like a crash (the device and wireguard-go stay behind). */
  kill(): Promise<void>;
}

export async function startAgent(ns: string): Promise<NsAgent> {
  const child = spawn("ip", ["netns", "exec", ns, process.execPath, "--import", "tsx", AGENT], { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const ready = new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const msg = JSON.parse(line) as { ready?: boolean; id?: number; ok?: boolean; result?: unknown; error?: string; reason?: string };
      if (msg.ready) return resolve();
      const p = pending.get(msg.id!);
      if (!p) return;
      pending.delete(msg.id!);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(Object.assign(new Error(msg.error), { reason: msg.reason }));
    });
    child.once("exit", (code) => {
      const err = new Error(`agent in ${ns} exited (${code}): ${stderr.slice(-2000)}`);
      reject(err);
      for (const p of pending.values()) p.reject(err);
      pending.clear();
    });
  });
  await ready;
  const call = <T>(op: string, args?: unknown) =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.stdin!.write(`${JSON.stringify({ id, op, args })}\n`);
    });
  return {
    child,
    call,
    open: (name) => call("open", { name }),
    configure: (o) => call("configure", o),
    setPeer: (p) => call("setPeer", p),
    removePeer: (publicKey) => call("removePeer", { publicKey }),
    peers: () => call("peers"),
    addAddress: (cidr) => call("addAddress", { cidr }),
    addRoute: (cidr, src) => call("addRoute", { cidr, src }),
    close: () => call("close"),
    listen: (host, port) => call("listen", { host, port }),
    tcp: (host, port, message, timeoutMs) => call("tcp", { host, port, message, timeoutMs }),
    serveEdge: (host, port) => call("serveEdge", { host, port }),
    setEdge: (status) => call("setEdge", status),
    async kill() {
      // `ip netns exec` execs node, so this pid is the agent itself.
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}
