/**
 * The hub's services started together, one way for everyone: the devhub
 * (processes, replicas, its own PostgreSQL and NATS), the integration tests
 * (some or all services in this process, so one span exporter sees them),
 * the e2e tests and benches (processes, some inside a network namespace, the
 * hub's WireGuard node, a TLS gateway). Services start in dependency order;
 * the replicas of one service start side by side.
 */
import type { ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import type { RunningGateway } from "@daalu/gateway";
import { createLogger, formatHostPort, freePort, parseHostPort, serviceEntry, spawnedLogLevel, spawnProcess, type Running, type SpawnedProcess } from "@daalu/runtime";
import { generateKeyPair, type KeyPair } from "@daalu/wireguard";
import type { PeeringService } from "@daalu/peering/service";
import type { RunningInvite } from "@daalu/invite/service";
import type { RunningAudit } from "@daalu/audit/service";
import type { RunningTunnelProxy } from "@daalu/tunnel-proxy/service";
import type { RunningDrift } from "@daalu/drift/service";

/** Every hub service, in start order (a service's dependencies first). */
export const HUB_SERVICES = ["peering", "invite", "audit", "tunnel-proxy", "drift", "gateway"] as const;
export type HubService = (typeof HUB_SERVICES)[number];
/** The services that run once per hub node (StackOptions.hubNodes). */
const NODE_SERVICES: ReadonlySet<HubService> = new Set(["peering", "tunnel-proxy"]);

/** Services started in this process, by name. */
export interface InProcess {
  peering?: PeeringService;
  invite?: RunningInvite;
  audit?: RunningAudit;
  "tunnel-proxy"?: RunningTunnelProxy;
  drift?: RunningDrift;
  gateway?: RunningGateway;
}

/** A network namespace to run processes in (e2e's NsHost fits). */
export interface Namespace {
  ns: string;
  /** Called with each child started there (the namespace's cleanup kills it). */
  track?(child: ChildProcess): void;
}

/** Extra environment of one service; a function is called just before that service starts. */
export type ServiceEnv = Record<string, string> | ((replica: number) => Record<string, string> | Promise<Record<string, string>>);

/** One hub node of StackOptions.hubNodes. */
export interface HubNode {
  /** PEERING_NODE_ID and TUNNEL_PROXY_NODE_ID ([A-Za-z0-9_.-], ≤ 63). */
  id: string;
  /** host:port where edges reach this node's WireGuard port. */
  endpoint: string;
  /** Where this node's peering and tunnel-proxy run. */
  netns?: Namespace;
  /** PEERING_WG_INTERFACE of this node (default: `wireguard.interface`). */
  wgInterface?: string;
}

export interface StackOptions {
  databaseUrl: string;
  natsUrl: string;
  /** DAALU_NATS_PREFIX of every service. */
  prefix: string;
  /** Which services, in HUB_SERVICES order (default all). */
  services?: readonly HubService[];
  /** Which of them run in this process instead of as processes. */
  inProcess?: readonly HubService[];
  /** Processes per service (default 1; in-process services always run once). */
  replicas?: number;
  /** Environment of every service (LOG_LEVEL, …); processes also inherit `baseEnv`. */
  env?: Record<string, string>;
  /** What processes inherit (default process.env). */
  baseEnv?: Record<string, string | undefined>;
  /** Per-service environment, over the defaults. */
  serviceEnv?: Partial<Record<HubService, ServiceEnv>>;
  /** Where a service's processes run (default: this process's namespace). */
  netns?: Partial<Record<HubService, Namespace>>;
  /** PEERING_HUB_ENDPOINT: where edges reach the hub's WireGuard port. */
  hubEndpoint?: string;
  /** Write a fresh hub WireGuard key into this directory (PEERING_HUB_PRIVATE_KEY_FILE); the stack returns it. */
  hubKeyDir?: string;
  /** Peering's first replica runs the hub WireGuard node with these settings (PEERING_WG=on); with hubNodes, every node's. */
  wireguard?: { interface?: string; backend?: "auto" | "kernel" | "wireguard-go"; port?: number };
  /**
   * Several hub nodes (issue 14, docs/architecture.md "Scaling out"): peering and the tunnel-proxy run once per
   * node instead of `replicas` times, process i (`peering-<i+1>`, `tunnel-proxy-<i+1>`) in node i's namespace
   * (over `netns`) with PEERING_WG=on, PEERING_NODE_ID / TUNNEL_PROXY_NODE_ID = its id, its own WireGuard
   * interface name (wireguard-go's UAPI sockets share one directory), and PEERING_HUB_ENDPOINTS = every node's
   * endpoint in this order (PEERING_HUB_ENDPOINT: the first, unless `hubEndpoint`). All share the one hub key
   * (`hubKeyDir`) and the same hub tunnel addresses.
   */
  hubNodes?: ReadonlyArray<HubNode>;
  gateway?: {
    /** host:port of the first replica; later replicas take the next ports. Port 0: a free port (default 127.0.0.1:0). */
    listen?: string;
    /** The URL edges and operators use (INVITE_HUB_URL, PEERING_HUB_URL, GATEWAY_PUBLIC_URL); default the first replica's. */
    publicUrl?: string;
    /** Serve https with these PEM files. */
    tls?: { certFile: string; keyFile: string; caFile?: string };
  };
  /**
   * Create this tenant with an admin token (and a viewer token); `ifNew`: only when the tenant does not exist yet;
   * `adminUser`: also the user `admin` (role admin, generated password) unless the tenant has one.
   */
  tenant?: { id: string; name?: string; viewer?: boolean; ifNew?: boolean; adminUser?: boolean };
  /** Every output line of every process. */
  output?: (name: string, line: string) => void;
  /** Keep each process's whole output for output() (default true). */
  keepOutput?: boolean;
  /** One V8 CPU profile directory per process under this one (default: DAALU_CPU_PROF_DIR, shared). */
  cpuProfDir?: string;
  /**
   * Each process in its own process group, so a terminal's Ctrl-C reaches only
   * this process, which then stops the services in order (the devhub). Off by
   * default: a test runner's Ctrl-C then reaches the services too.
   */
  detached?: boolean;
  /** How long each service may take to be ready (default spawnProcess's). */
  readyTimeoutMs?: number;
  /** Run the processes from the production build (`npm run build`: services/<name>/dist/main.js), as the images do. */
  compiled?: boolean;
}

export interface Stack {
  /** The first gateway replica's URL, and every replica's. */
  gatewayUrl: string;
  gatewayUrls: string[];
  publicUrl: string;
  /** Set with `tenant` (adminToken unless `ifNew` found the tenant). */
  tenant?: string;
  adminToken?: string;
  /** The password of the user `admin`, when `tenant.adminUser` created it. */
  adminPassword?: string;
  viewerToken?: string;
  hubKeys?: KeyPair;
  /** Processes, named `<service>-<replica>` (1-based), in start order. */
  processes: SpawnedProcess[];
  /** The first (or `replica`th, 0-based) process of a service. */
  process(service: HubService, replica?: number): SpawnedProcess;
  /** The environment a service's process got (to start another one like it). */
  envOf(service: HubService, replica?: number): Record<string, string>;
  /** Starts one more process of `service` as the stack started the first, e.g. after killing it; stop() stops it too. */
  respawn(service: HubService, replica?: number): SpawnedProcess;
  inProcess: InProcess;
  /** A request to the gateway with the admin token (http gateways); JSON in and out. */
  // Tests read the gateway's JSON answers field by field; typing every response here would only move the casts into them.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed JSON body, read loosely by tests
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** Stops every service, last started first, each even if an earlier one fails. */
  stop(): Promise<void>;
}

type Started = Running & object;

const definitions: Record<HubService, () => Promise<{ name: string; loadConfig(env: Record<string, string | undefined>): unknown; start(config: never, logger: ReturnType<typeof createLogger>): Promise<Started> }>> = {
  peering: async () => (await import("@daalu/peering/service")).peeringService,
  invite: async () => (await import("@daalu/invite/service")).inviteService,
  audit: async () => (await import("@daalu/audit/service")).auditService,
  "tunnel-proxy": async () => (await import("@daalu/tunnel-proxy/service")).tunnelProxyService,
  drift: async () => (await import("@daalu/drift/service")).driftService,
  gateway: async () => (await import("@daalu/gateway/service")).gatewayService,
};

export async function startStack(o: StackOptions): Promise<Stack> {
  const services = HUB_SERVICES.filter((s) => (o.services ?? HUB_SERVICES).includes(s));
  const inProc = new Set(o.inProcess ?? []);
  const replicas = o.replicas ?? 1;
  const nodes = o.hubNodes ?? [];
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 32) throw new Error(`replicas must be 1..32, got ${replicas}`);
  const processes: SpawnedProcess[] = [];
  const spawned = new Map<string, { env: Record<string, string>; where: Namespace | undefined }>();
  const inProcess: InProcess = {};
  const stops: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s().catch(() => undefined);
  };

  try {
    // The gateway's address comes first: invite puts the public URL into helm commands.
    const gw = o.gateway ?? {};
    const listen = parseHostPort(gw.listen ?? "127.0.0.1:0");
    if (!listen) throw new Error(`gateway listen must be host:port, got "${gw.listen}"`);
    const firstPort = listen.port === 0 && !gw.publicUrl ? await freePort() : listen.port;
    const scheme = gw.tls ? "https" : "http";
    const reachableHost = listen.host === "0.0.0.0" || listen.host === "::" ? "127.0.0.1" : listen.host;
    const publicUrl = gw.publicUrl ?? `${scheme}://${formatHostPort(reachableHost, firstPort)}`;
    let hubKeys: KeyPair | undefined;
    let hubKeyFile: string | undefined;
    if (o.hubKeyDir) {
      hubKeys = generateKeyPair();
      hubKeyFile = path.join(o.hubKeyDir, "hub.key");
      writeFileSync(hubKeyFile, `${hubKeys.privateKey}\n`, { mode: 0o600 });
    }
    const defaults = (svc: HubService, i: number): Record<string, string> => {
      switch (svc) {
        case "peering":
          return {
            PEERING_GRPC_ADDR: "127.0.0.1:0",
            // The rows' upgrade command names the same chart repository as the invite's install command.
            PEERING_HUB_URL: publicUrl,
            ...(o.hubEndpoint ?? nodes[0] ? { PEERING_HUB_ENDPOINT: o.hubEndpoint ?? nodes[0]!.endpoint } : {}),
            ...(hubKeyFile ? { PEERING_HUB_PRIVATE_KEY_FILE: hubKeyFile } : {}),
            // PEERING_NODE_ENDPOINT: where another node sends this one's share of edges when it rebalances.
            ...(nodes[i] ? { PEERING_NODE_ID: nodes[i].id, PEERING_NODE_ENDPOINT: nodes[i].endpoint, PEERING_HUB_ENDPOINTS: nodes.map((n) => n.endpoint).join(",") } : {}),
            // Without hub nodes the first replica runs the hub node; with them, every node's peering.
            ...((o.wireguard && i === 0) || nodes[i]
              ? {
                  PEERING_WG: "on",
                  ...(nodes[i]?.wgInterface ?? o.wireguard?.interface ? { PEERING_WG_INTERFACE: nodes[i]?.wgInterface ?? o.wireguard!.interface! } : {}),
                  ...(o.wireguard?.backend ? { PEERING_WG_BACKEND: o.wireguard.backend } : {}),
                  ...(o.wireguard?.port ? { PEERING_WG_PORT: String(o.wireguard.port) } : {}),
                }
              : {}),
          };
        case "invite":
          return { INVITE_GRPC_ADDR: "127.0.0.1:0", INVITE_HUB_URL: publicUrl };
        case "audit":
          return { AUDIT_GRPC_ADDR: "127.0.0.1:0" };
        case "tunnel-proxy":
          return nodes[i] ? { TUNNEL_PROXY_NODE_ID: nodes[i].id } : {};
        case "drift":
          return { DRIFT_GRPC_ADDR: "127.0.0.1:0" };
        case "gateway":
          return {
            // Later replicas take the next ports (or any free one).
            GATEWAY_LISTEN: formatHostPort(listen.host, firstPort === 0 || (i > 0 && listen.port === 0) ? 0 : firstPort + i),
            GATEWAY_PUBLIC_URL: publicUrl,
            ...(gw.tls ? { GATEWAY_TLS_CERT_FILE: gw.tls.certFile, GATEWAY_TLS_KEY_FILE: gw.tls.keyFile, ...(gw.tls.caFile ? { GATEWAY_TLS_CA_FILE: gw.tls.caFile } : {}) } : {}),
          };
      }
    };
    const envFor = async (svc: HubService, i: number): Promise<Record<string, string>> => {
      const extra = o.serviceEnv?.[svc];
      return {
        ...o.env,
        DATABASE_URL: o.databaseUrl,
        NATS_URL: o.natsUrl,
        DAALU_NATS_PREFIX: o.prefix,
        ...defaults(svc, i),
        ...(typeof extra === "function" ? await extra(i) : extra),
      };
    };
    const spawnOne = (svc: HubService, i: number, env: Record<string, string>, where: Namespace | undefined) => {
      const name = `${svc}-${i + 1}`;
      const p = spawnProcess({
        name,
        entry: serviceEntry(svc, o.compiled),
        baseEnv: o.baseEnv ?? process.env,
        // Readiness is an info line: a spawned service never logs below info.
        env: { ...env, LOG_LEVEL: spawnedLogLevel(env["LOG_LEVEL"]) },
        ...(where ? { netns: where.ns, ...(where.track ? { track: (c: ChildProcess) => where.track!(c) } : {}) } : {}),
        // One directory per child: each of its threads (main, tsx's loader) writes its own file there.
        ...(o.cpuProfDir ? { cpuProfDir: path.join(o.cpuProfDir, name) } : {}),
        ...(o.output ? { onLine: (l: string) => o.output!(name, l) } : {}),
        keepOutput: o.keepOutput ?? true,
        ...(o.readyTimeoutMs ? { readyTimeoutMs: o.readyTimeoutMs } : {}),
        detached: o.detached ?? false,
      });
      processes.push(p);
      spawned.set(name, { env, where });
      return p;
    };

    const gatewayUrls: string[] = [];
    for (const svc of services) {
      if (inProc.has(svc)) {
        const env = await envFor(svc, 0);
        const def = await definitions[svc]();
        const running = await def.start(def.loadConfig(env) as never, createLogger(svc, env["LOG_LEVEL"] ?? "info"));
        stops.push(() => running.stop());
        (inProcess as Record<string, Started>)[svc] = running;
        if (svc === "gateway") gatewayUrls.push((running as RunningGateway).url);
        continue;
      }
      const started: SpawnedProcess[] = [];
      const perNode = nodes.length > 0 && NODE_SERVICES.has(svc);
      for (let i = 0; i < (perNode ? nodes.length : replicas); i++) started.push(spawnOne(svc, i, await envFor(svc, i), (perNode ? nodes[i]!.netns : undefined) ?? o.netns?.[svc]));
      stops.push(() => Promise.all(started.map((p) => p.stop())));
      const records = await Promise.all(started.map((p) => p.ready));
      if (svc === "gateway") for (const r of records) gatewayUrls.push(String(r["url"]));
    }

    let adminToken: string | undefined;
    let viewerToken: string | undefined;
    let adminPassword: string | undefined;
    if (o.tenant) {
      // Loaded only here: a stack of processes needs no service code in this process.
      const { createApiToken, ensureTenant, ensureUser, openGatewayStore } = await import("@daalu/gateway");
      const store = await openGatewayStore(o.databaseUrl, { poolSize: 1 });
      try {
        const exists = o.tenant.ifNew ? (await store.getTenant(o.tenant.id)) !== undefined : false;
        if (!exists) {
          await ensureTenant(store, o.tenant.id, o.tenant.name);
          adminToken = (await createApiToken(store, o.tenant.id, "admin", { role: "admin" })).token;
          if (o.tenant.viewer) viewerToken = (await createApiToken(store, o.tenant.id, "viewer", { role: "viewer" })).token;
        }
        if (o.tenant.adminUser) adminPassword = await ensureUser(store, o.tenant.id, "admin", "admin");
      } finally {
        await store.close();
      }
    }

    const gatewayUrl = gatewayUrls[0] ?? publicUrl;
    const find = (svc: HubService, replica = 0) => {
      const p = processes.filter((x) => x.name === `${svc}-${replica + 1}`).at(-1);
      if (!p) throw new Error(`the stack runs no process ${svc}-${replica + 1}`);
      return p;
    };
    const envOf = (svc: HubService, replica = 0) => {
      const s = spawned.get(`${svc}-${replica + 1}`);
      if (!s) throw new Error(`the stack runs no process ${svc}-${replica + 1}`);
      return s;
    };
    return {
      gatewayUrl,
      gatewayUrls,
      publicUrl,
      ...(o.tenant ? { tenant: o.tenant.id } : {}),
      ...(adminToken ? { adminToken } : {}),
      ...(adminPassword ? { adminPassword } : {}),
      ...(viewerToken ? { viewerToken } : {}),
      ...(hubKeys ? { hubKeys } : {}),
      processes,
      process: find,
      envOf: (svc, replica) => envOf(svc, replica).env,
      respawn(svc, replica = 0) {
        const s = envOf(svc, replica);
        const p = spawnOne(svc, replica, s.env, s.where);
        stops.push(() => p.stop());
        return p;
      },
      inProcess,
      async api(method, p, body) {
        const res = await fetch(gatewayUrl + p, {
          method,
          headers: { ...(adminToken ? { authorization: `Bearer ${adminToken}` } : {}), ...(body !== undefined ? { "content-type": "application/json" } : {}) },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        });
        const text = await res.text();
        return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
