import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createApiToken, ensureTenant, openGatewayStore } from "@daalu/gateway";
import { spawnProcess, type SpawnedProcess } from "@daalu/runtime";
import { startEmbeddedPostgres, type EmbeddedDb } from "./postgres.js";
import { freePort, waitForPort } from "./ports.js";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const DEFAULT_DATA_DIR = path.join(ROOT, ".data");
export const DEFAULT_GATEWAY_LISTEN = "0.0.0.0:8080";
export const DEFAULT_TENANT = "default";

/** Where a child's output lines go: its name and one line. */
export type LineSink = (name: string, line: string) => void;
type Child = SpawnedProcess;

/**
 * The services the hub runs, in start order (a service's dependencies first).
 * `env(replica)` gives the per-replica settings.
 */
interface ServiceSpec {
  name: string;
  env(replica: number, ctx: { gatewayHost: string; gatewayPort: number; publicUrl: string; wireguard: boolean }): Promise<Record<string, string>> | Record<string, string>;
}

const SERVICES: ServiceSpec[] = [
  // Replica 1 of peering is this host's WireGuard hub node (when WireGuard can run here).
  { name: "peering", env: (i, c) => ({ PEERING_GRPC_ADDR: "127.0.0.1:0", ...(c.wireguard && i === 0 ? { PEERING_WG: "on" } : {}) }) },
  { name: "invite", env: (_i, c) => ({ INVITE_GRPC_ADDR: "127.0.0.1:0", INVITE_HUB_URL: c.publicUrl }) },
  { name: "audit", env: () => ({ AUDIT_GRPC_ADDR: "127.0.0.1:0" }) },
  { name: "tunnel-proxy", env: () => ({}) },
  {
    name: "gateway",
    env: (i, c) => ({ GATEWAY_LISTEN: `${c.gatewayHost.includes(":") ? `[${c.gatewayHost}]` : c.gatewayHost}:${c.gatewayPort === 0 ? 0 : c.gatewayPort + i}`, GATEWAY_PUBLIC_URL: c.publicUrl }),
  },
];

/** WireGuard can run here: root, and the kernel module or wireguard-go. */
export function wireguardAvailable(): boolean {
  if (process.getuid?.() !== 0) return false;
  if (existsSync("/sys/module/wireguard")) return true;
  return (process.env["PATH"] ?? "").split(":").some((d) => d && existsSync(path.join(d, "wireguard-go")));
}

export interface HubOptions {
  /** Replicas of every service (default 1). */
  replicas?: number;
  /** Use this database instead of starting an embedded PostgreSQL. */
  databaseUrl?: string;
  /** Use this NATS instead of starting a child nats-server. */
  natsUrl?: string;
  /** DAALU_NATS_PREFIX for every service. */
  prefix?: string;
  /** Extra environment for every child (e.g. LOG_LEVEL, GATEWAY_BOOTSTRAP_RATE). */
  env?: Record<string, string>;
  /** The environment children inherit (PATH etc.); main passes process.env. */
  baseEnv?: Record<string, string | undefined>;
  /** Where embedded PostgreSQL and NATS keep their data (default `.data`). */
  dataDir?: string;
  /** host:port of the first gateway replica; others take the next ports. Port 0: any free ports. */
  gatewayListen?: string;
  /** URL printed and put into helm commands (default http://127.0.0.1:<first gateway port>). */
  publicUrl?: string;
  /** Where child output lines go (default: dropped). */
  output?: LineSink;
  /** Create tenant `default` and an admin token when the tenant does not exist yet. */
  bootstrapAdmin?: boolean;
  /** Run the hub WireGuard node (default: when wireguardAvailable()). */
  wireguard?: boolean;
  /**
   * Write a V8 CPU profile per service child into this directory when it exits
   * (benches; the same as spawnService's DAALU_CPU_PROF_DIR).
   */
  cpuProfDir?: string;
}

export interface Hub {
  databaseUrl: string;
  natsUrl: string;
  prefix: string;
  /** One URL per gateway replica. */
  gatewayUrls: string[];
  /** The UI / API URL operators use. */
  publicUrl: string;
  /** Set only when this start created the default tenant's admin token. */
  adminToken?: string;
  children: Child[];
  stop(): Promise<void>;
}

function splitListen(v: string): { host: string; port: number } {
  const i = v.lastIndexOf(":");
  const port = Number(v.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`listen address must be host:port, got "${v}"`);
  return { host: v.slice(0, i).replace(/^\[|\]$/g, ""), port };
}

/**
 * Runs the whole hub on this machine: PostgreSQL and NATS (embedded/child
 * unless given), then every service with `replicas` child processes each.
 * `stop()` stops the children gracefully, then NATS, then PostgreSQL.
 */
export async function startHub(opts: HubOptions = {}): Promise<Hub> {
  const replicas = opts.replicas ?? 1;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 32) throw new Error(`replicas must be 1..32, got ${replicas}`);
  const dataDir = opts.dataDir ?? DEFAULT_DATA_DIR;
  const output: LineSink = opts.output ?? (() => undefined);
  const baseEnv = opts.baseEnv ?? {};
  const children: Child[] = [];
  let embeddedDb: EmbeddedDb | undefined;
  let nats: Child | undefined;

  const stop = async () => {
    // Services first (they drain in-flight work), then their infrastructure.
    for (const name of [...SERVICES].reverse().map((s) => s.name)) {
      await Promise.all(children.filter((c) => c.name.startsWith(`${name}-`)).map((c) => c.stop()));
    }
    await nats?.stop();
    await embeddedDb?.stop();
  };

  try {
    await mkdir(dataDir, { recursive: true });
    let databaseUrl = opts.databaseUrl;
    if (!databaseUrl) {
      embeddedDb = await startEmbeddedPostgres(path.join(dataDir, "postgres"), "daalu", (l) => output("postgres", l));
      databaseUrl = embeddedDb.url;
    }
    let natsUrl = opts.natsUrl;
    if (!natsUrl) {
      const port = await freePort();
      await mkdir(path.join(dataDir, "nats"), { recursive: true });
      nats = spawnProcess({
        name: "nats",
        command: "nats-server",
        args: ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", path.join(dataDir, "nats")],
        baseEnv,
        onLine: (l) => output("nats", l),
        keepOutput: false,
        // Its own process group: Ctrl-C reaches only the devhub, which stops the services first.
        detached: true,
        readyWhen: (l) => l.includes("Server is ready"),
      });
      children.push(nats);
      await Promise.race([nats.ready, waitForPort("127.0.0.1", port, 15_000)]);
      natsUrl = `nats://127.0.0.1:${port}`;
    }
    const prefix = opts.prefix ?? "";

    let adminToken: string | undefined;
    if (opts.bootstrapAdmin) {
      const store = await openGatewayStore(databaseUrl);
      try {
        if (!(await store.getTenant(DEFAULT_TENANT))) {
          await ensureTenant(store, DEFAULT_TENANT, "Default tenant");
          adminToken = (await createApiToken(store, DEFAULT_TENANT, "admin", { role: "admin" })).token;
        }
      } finally {
        await store.close();
      }
    }

    // The hub knows a service is up from its info-level "ready" line, so quieter levels would hang start-up.
    const childEnv: Record<string, string | undefined> = { ...baseEnv, ...opts.env };
    if (["warn", "error", "fatal", "silent"].includes(childEnv["LOG_LEVEL"] ?? "")) {
      output("devhub", `LOG_LEVEL=${childEnv["LOG_LEVEL"]} would hide the services' ready lines; using info`);
      childEnv["LOG_LEVEL"] = "info";
    }

    const wireguard = opts.wireguard ?? wireguardAvailable();
    if (!wireguard) output("devhub", "WireGuard not available here (needs root and wireguard-go or the kernel module): the hub runs without its tunnel node");
    const listen = splitListen(opts.gatewayListen ?? DEFAULT_GATEWAY_LISTEN);
    const firstPort = listen.port === 0 ? 0 : listen.port;
    const publicUrl = opts.publicUrl ?? `http://127.0.0.1:${firstPort === 0 ? await freePort() : firstPort}`;
    const gatewayUrls: string[] = [];
    for (const svc of SERVICES) {
      const started: Child[] = [];
      for (let i = 0; i < replicas; i++) {
        const env = {
          ...childEnv,
          DATABASE_URL: databaseUrl,
          NATS_URL: natsUrl,
          DAALU_NATS_PREFIX: prefix,
          ...(await svc.env(i, { gatewayHost: listen.host, gatewayPort: firstPort, publicUrl, wireguard })),
        };
        const name = `${svc.name}-${i + 1}`;
        const c = spawnProcess({
          name,
          entry: `services/${svc.name}/src/main.ts`,
          // One directory per child: each of its threads (main, tsx's loader) writes its own file there.
          ...(opts.cpuProfDir ? { cpuProfDir: path.join(opts.cpuProfDir, name) } : {}),
          baseEnv: {},
          env,
          onLine: (l) => output(name, l),
          keepOutput: false,
          // Each child in its own process group: Ctrl-C in the terminal reaches only the
          // devhub, which then stops the services in order before NATS and PostgreSQL
          // (a service whose database vanished mid-drain could hang and be orphaned).
          detached: true,
        });
        children.push(c);
        started.push(c);
      }
      // Replicas of one service start together; the next service waits for them.
      const records = await Promise.all(started.map((c) => c.ready));
      if (svc.name === "gateway") for (const r of records) gatewayUrls.push(String(r["url"]));
    }
    return {
      databaseUrl,
      natsUrl,
      prefix,
      gatewayUrls,
      publicUrl: opts.publicUrl ?? (firstPort === 0 ? gatewayUrls[0]! : publicUrl),
      ...(adminToken ? { adminToken } : {}),
      children,
      stop,
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}
