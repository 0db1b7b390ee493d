import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, spawnProcess, type SpawnedProcess } from "@daalu/runtime";
import { startStack, type Stack } from "@daalu/stack";
import { devKeyEncryptionKeys } from "./kek.js";
import { startEmbeddedPostgres, type EmbeddedDb } from "./postgres.js";
import { waitForPort } from "./ports.js";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const DEFAULT_DATA_DIR = path.join(ROOT, ".data");
export const DEFAULT_GATEWAY_LISTEN = "0.0.0.0:8080";
export const DEFAULT_TENANT = "default";

/** Where a child's output lines go: its name and one line. */
export type LineSink = (name: string, line: string) => void;

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
  /** The password of the user `admin` of tenant default, when this start created it. */
  adminPassword?: string;
  /** nats-server (when the devhub started it) and every service process, named `<service>-<replica>`. */
  children: SpawnedProcess[];
  stop(): Promise<void>;
}

/**
 * Runs the whole hub on this machine: PostgreSQL and NATS (embedded/child
 * unless given), then every service with `replicas` child processes each
 * (startStack). `stop()` stops the services gracefully, then NATS, then PostgreSQL.
 */
export async function startHub(opts: HubOptions = {}): Promise<Hub> {
  const dataDir = opts.dataDir ?? DEFAULT_DATA_DIR;
  const output: LineSink = opts.output ?? (() => undefined);
  const baseEnv = opts.baseEnv ?? {};
  let embeddedDb: EmbeddedDb | undefined;
  let nats: SpawnedProcess | undefined;
  let stack: Stack | undefined;

  const stop = async () => {
    // Services first (they drain in-flight work), then their infrastructure.
    await stack?.stop();
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
      await Promise.race([nats.ready, waitForPort("127.0.0.1", port, 15_000)]);
      natsUrl = `nats://127.0.0.1:${port}`;
    }
    const prefix = opts.prefix ?? "";

    // The hub knows a service is up from its info-level "ready" line, so quieter levels would hang start-up.
    const env: Record<string, string> = { ...opts.env };
    const level = env["LOG_LEVEL"] ?? baseEnv["LOG_LEVEL"];
    if (level && ["warn", "error", "fatal", "silent"].includes(level)) {
      output("devhub", `LOG_LEVEL=${level} would hide the services' ready lines; using info`);
      env["LOG_LEVEL"] = "info";
    }
    env["PEERING_KEY_ENCRYPTION_KEYS"] ??= baseEnv["PEERING_KEY_ENCRYPTION_KEYS"] ?? (await devKeyEncryptionKeys(dataDir));
    const wireguard = opts.wireguard ?? wireguardAvailable();
    if (!wireguard) output("devhub", "WireGuard not available here (needs root and wireguard-go or the kernel module): the hub runs without its tunnel node");
    // Replica 1 of peering is this host's WireGuard hub node.
    stack = await startStack({
      databaseUrl,
      natsUrl,
      prefix,
      replicas: opts.replicas ?? 1,
      env,
      baseEnv,
      gateway: { listen: opts.gatewayListen ?? DEFAULT_GATEWAY_LISTEN, ...(opts.publicUrl ? { publicUrl: opts.publicUrl } : {}) },
      ...(wireguard ? { wireguard: {} } : {}),
      ...(opts.bootstrapAdmin ? { tenant: { id: DEFAULT_TENANT, name: "Default tenant", ifNew: true, adminUser: true } } : {}),
      output,
      keepOutput: false,
      // Ctrl-C in the terminal reaches only the devhub, which then stops the services in order before
      // NATS and PostgreSQL (a service whose database vanished mid-drain could hang and be orphaned).
      detached: true,
      ...(opts.cpuProfDir ? { cpuProfDir: opts.cpuProfDir } : {}),
    });
    return {
      databaseUrl,
      natsUrl,
      prefix,
      gatewayUrls: stack.gatewayUrls,
      publicUrl: stack.publicUrl,
      ...(stack.adminToken ? { adminToken: stack.adminToken } : {}),
      ...(stack.adminPassword ? { adminPassword: stack.adminPassword } : {}),
      children: [...(nats ? [nats] : []), ...stack.processes],
      stop,
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}
