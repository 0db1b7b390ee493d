/** Runs peering in-process against a test's own database and subject prefix. */
import { CallerKind } from "@daalu/proto";
import { createLogger, sql } from "@daalu/runtime";
import { generateKeyPair } from "@daalu/wireguard";
import { setup, type TestEnv } from "@daalu/testing";
import { loadConfig } from "../src/config.js";
import { start, type PeeringService } from "../src/service.js";
import { peeringClient, type PeeringClient } from "../src/client.js";

export const logger = createLogger("peering-test", process.env["LOG_LEVEL"] ?? "silent");

export function peeringEnv(env: TestEnv, extra: Record<string, string> = {}): Record<string, string> {
  return { ...env.env, PEERING_GRPC_ADDR: "127.0.0.1:0", ...extra };
}

export async function startPeering(env: TestEnv, extra: Record<string, string> = {}): Promise<PeeringService> {
  return start(loadConfig(peeringEnv(env, extra)), logger);
}

/** A client acting as the invite service (internal enrollment calls). */
export function serviceClient(env: TestEnv): PeeringClient {
  return peeringClient(env.nc, { prefix: env.prefix, defaults: { caller: { kind: CallerKind.SERVICE, id: "invite" }, timeoutMs: 60_000 } });
}

/** A client acting as an operator of `tenantId`. */
export function tenantClient(env: TestEnv, tenantId: string): PeeringClient {
  return peeringClient(env.nc, { prefix: env.prefix, defaults: { tenantId, caller: { kind: CallerKind.USER, id: "alice" }, timeoutMs: 60_000 } });
}

export function newKey(): string {
  return generateKeyPair().publicKey;
}

/** Addresses as the database holds them, by cluster id. */
export async function dbAddresses(svc: PeeringService, tenantId: string): Promise<Map<string, string>> {
  const r = await sql<{ ip: string; cluster_id: string }>`select host(ip) as ip, cluster_id from addresses where tenant_id = ${tenantId}`.execute(svc.db);
  return new Map(r.rows.map((x) => [x.cluster_id, x.ip]));
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Peering on a fresh environment with one cluster "edge" of tenant acme; closed when the test ends. */
export async function withCluster(t: { after(fn: () => Promise<unknown>): void }, extra: Record<string, string> = {}) {
  const env = await setup();
  t.after(() => env.cleanup());
  const svc = await startPeering(env, extra);
  t.after(() => svc.stop());
  const acme = tenantClient(env, "acme");
  const id = (await acme.createCluster({ name: "edge" })).cluster!.id;
  return { env, svc, acme, id };
}
