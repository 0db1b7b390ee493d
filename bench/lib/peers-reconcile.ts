/**
 * The `reconcile` phase of `npm run bench -- peers`: a FRESH hub node (no
 * interface yet) started against a real PostgreSQL that already holds N
 * enrolled clusters, timed from the peering service's start (PEERING_WG=on,
 * so the real HubNode.start + device-sync path) until start has returned and
 * every peer is on the device.
 *
 * Runs in the caller's (root) network namespace, where PostgreSQL and NATS
 * listen, like services/peering/test/wg-node.test.ts: the tunnel pools are
 * 10.246.0.0/16 and 10.245.255.0/24, guarded `unreachable` by the node while
 * it runs, and the interface (with its routes) is deleted when it stops.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { peeringService, type PeeringService } from "@daalu/peering/service";
import { createLogger, sql } from "@daalu/runtime";
import { setup } from "@daalu/testing";
import { findPids, processCpuSeconds } from "./cpu.js";

const SUBNET_POOL = "10.246.0.0/16";
const HUB_POOL = "10.245.255.0/24";
/** Clusters per tenant: each tenant gets a /24 of SUBNET_POOL. */
const PER_TENANT = 100;

export interface ReconcileResult {
  peers: number;
  tenants: number;
  backend: string;
  /** PEERING_WG=on service start → returned, every peer on the device. */
  reconcileMs: number;
  /** CPU of this (node) process and of the node's wireguard-go over that time. */
  cpuNodeMs: number;
  cpuWgMs: number;
  /** `--node-sweeps` full HubNode.sweep() after start (device read + health state machine + writes of what changed). */
  nodeSweepMs: number[];
}

function cpuOfWg(iface: string): number {
  const pids = findPids((cmd) => /wireguard-go/.test(cmd) && cmd.endsWith(` ${iface}`));
  return pids.reduce((s, pid) => s + (processCpuSeconds(pid) ?? 0), 0) * 1000;
}

export async function reconcilePhase(peers: number, backend: string, nodeSweeps: number, log: (s: string) => void): Promise<ReconcileResult> {
  const tenants = Math.ceil(peers / PER_TENANT);
  if (tenants > 256) throw new Error(`--peers ${peers} needs more than 256 tenants of ${PER_TENANT}; the bench's pool is one /16`);
  const env = await setup();
  const logger = createLogger("bench-peers", process.env["LOG_LEVEL"] ?? "warn");
  const base = { ...env.env, PEERING_GRPC_ADDR: "off", PEERING_SUBNET_POOL: SUBNET_POOL, PEERING_HUB_POOL: HUB_POOL };
  let seed: PeeringService | undefined;
  let node: PeeringService | undefined;
  const iface = `dlr${randomBytes(3).toString("hex")}`;
  try {
    // The database as a running hub has it: migrated, the hub identity, N committed clusters.
    seed = await peeringService.start(peeringService.loadConfig(base), logger);
    let t = performance.now();
    const ids: string[] = [];
    const tenantOf: string[] = [];
    const names: string[] = [];
    const keys: string[] = [];
    const ips: string[] = [];
    for (let tn = 0; tn < tenants; tn++) {
      const tenant = `bench-${tn}`;
      await seed.store.ensureSubnet(tenant, `10.246.${tn}.0/24`);
      for (let j = 0; j < PER_TENANT && ids.length < peers; j++) {
        ids.push(randomUUID());
        tenantOf.push(tenant);
        names.push(`c${j}`);
        // Any 32 bytes are a valid X25519 public key as far as WireGuard's configuration goes.
        keys.push(randomBytes(32).toString("base64"));
        ips.push(`10.246.${tn}.${j + 1}`);
      }
    }
    await sql`
      insert into clusters (id, tenant_id, name, public_key, status, enrolled_at, last_enrollment_id)
      select u.id, u.t, u.n, u.k, 'awaiting_handshake', now(), 'enr-' || u.n
      from unnest(${ids}::uuid[], ${tenantOf}::text[], ${names}::text[], ${keys}::text[]) as u(id, t, n, k)`.execute(seed.db);
    await sql`
      insert into addresses (ip, tenant_id, cluster_id)
      select u.ip, u.t, u.id from unnest(${ips}::inet[], ${tenantOf}::text[], ${ids}::uuid[]) as u(ip, t, id)`.execute(seed.db);
    log(`database: ${tenants} tenants, ${peers} committed clusters in ${Math.round(performance.now() - t)} ms`);
    await seed.stop();
    seed = undefined;

    const cpu0 = process.cpuUsage();
    t = performance.now();
    node = await peeringService.start(
      peeringService.loadConfig({
        ...base,
        PEERING_WG: "on",
        PEERING_WG_INTERFACE: iface,
        PEERING_WG_BACKEND: backend,
        PEERING_WG_PORT: String(40000 + Math.floor(Math.random() * 10000)),
        PEERING_WG_GOODBYE_PORT: "0",
        // The bench drives the sweeps itself.
        PEERING_HEALTH_INTERVAL: "1h",
        PEERING_WG_RESYNC: "1h",
      }),
      logger,
    );
    const reconcileMs = performance.now() - t;
    const cpu = process.cpuUsage(cpu0);
    const cpuWgMs = cpuOfWg(iface);
    const dev = node.hubNode!.device;
    const present = new Set((await dev.peers()).map((p) => p.publicKey));
    const missing = keys.filter((k) => !present.has(k)).length;
    if (missing > 0 || present.size !== peers) throw new Error(`after start the device has ${present.size} peers, ${missing} of the ${peers} missing`);
    log(`fresh node (${dev.backend}) reconciled ${peers} peers of ${tenants} tenants in ${Math.round(reconcileMs)} ms`);

    const nodeSweepMs: number[] = [];
    for (let i = 0; i < nodeSweeps; i++) {
      t = performance.now();
      await node.hubNode!.sweep();
      nodeSweepMs.push(performance.now() - t);
    }
    if (nodeSweeps > 0) log(`HubNode.sweep() at ${peers} peers: ${nodeSweepMs.map((x) => Math.round(x)).join(", ")} ms (the first writes every changed row)`);
    return { peers, tenants, backend: dev.backend, reconcileMs, cpuNodeMs: (cpu.user + cpu.system) / 1000, cpuWgMs, nodeSweepMs };
  } finally {
    await node?.stop().catch((err) => log(`node stop failed: ${String(err)}`));
    await seed?.stop().catch(() => undefined);
    await env.cleanup();
  }
}
