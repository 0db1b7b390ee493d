/**
 * Test stack for the invite service: an isolated database + subject prefix,
 * the REAL peering service as its own process, and invite either in-process
 * (start()) or as a process (for crash tests with failpoints).
 */
import type { TestContext } from "node:test";
import { CallerKind, peeringv1 } from "@daalu/proto";
import { createLogger, natsClient, type DaaluError } from "@daalu/runtime";
import { setup, spawnService, type ServiceProcess, type TestEnv } from "@daalu/testing";
import { inviteClient, type InviteClient } from "../src/client.js";
import { loadConfig } from "../src/config.js";
import { start } from "../src/service.js";

/** Fast peering recovery so crash tests run in seconds. */
export const PEERING_TEST_ENV = {
  PEERING_GRPC_ADDR: "127.0.0.1:0",
  PEERING_PENDING_TIMEOUT: "1s",
  PEERING_RECOVERY_INTERVAL: "200ms",
};

/** Generous per-call timeouts: the machine is shared and the concurrency tests queue hundreds of calls. */
export const INVITE_TEST_ENV = {
  INVITE_GRPC_ADDR: "127.0.0.1:0",
  INVITE_PEERING_TIMEOUT: "20s",
};

export const CALL_TIMEOUT_MS = 30_000;

export interface Stack {
  env: TestEnv;
  peeringProc: ServiceProcess;
  invites: InviteClient;
  peering: ReturnType<typeof peeringClient>;
  /** Calls as an operator of `tenant`. */
  as(tenant: string): { tenantId: string; caller: { kind: CallerKind; id: string }; timeoutMs: number };
  /** Starts invite in this process with extra env (and a clock); stopped when the test ends. */
  startInvite(extra?: Record<string, string>, deps?: { now?: () => Date }): Promise<{ grpcPort: number | undefined; stop(): Promise<void> }>;
  /** Spawns invite as a process (failpoints kill it); killed when the test ends. */
  spawnInvite(extra?: Record<string, string>): Promise<ServiceProcess>;
}

export function peeringClient(env: TestEnv) {
  return natsClient(env.nc, peeringv1.PeeringService, { prefix: env.prefix, defaults: { caller: { kind: CallerKind.SERVICE, id: "test" }, timeoutMs: CALL_TIMEOUT_MS } });
}

/**
 * Sets up the stack; `inviteEnv` applies to the default in-process invite (pass `false` to start none),
 * `peeringEnv` overrides PEERING_TEST_ENV.
 */
export async function stack(t: TestContext, inviteEnv: Record<string, string> | false = {}, peeringEnv: Record<string, string> = {}): Promise<Stack> {
  // Torn down last-in first-out: invite, then peering, then the database and NATS prefix.
  const teardown: Array<() => Promise<unknown>> = [];
  t.after(async () => {
    for (const fn of teardown.reverse()) await fn();
  });
  const env = await setup();
  teardown.push(() => env.cleanup());
  const peeringProc = spawnService("peering", { ...env.env, ...PEERING_TEST_ENV, ...peeringEnv });
  teardown.push(() => peeringProc.kill());
  await withDeadline(peeringProc.ready, 90_000, () => `peering did not become ready:\n${peeringProc.output().slice(-3000)}`);
  const s: Stack = {
    env,
    peeringProc,
    invites: inviteClient(env.nc, { prefix: env.prefix, defaults: { timeoutMs: CALL_TIMEOUT_MS } }),
    peering: peeringClient(env),
    as: (tenant) => ({ tenantId: tenant, caller: { kind: CallerKind.USER, id: `admin@${tenant}` }, timeoutMs: CALL_TIMEOUT_MS }),
    async startInvite(extra = {}, deps = {}) {
      const cfg = loadConfig({ ...env.env, ...INVITE_TEST_ENV, ...extra });
      const running = await start(cfg, createLogger("invite", process.env["LOG_LEVEL"] ?? "silent"), deps);
      let stopped = false;
      const stop = async () => {
        if (stopped) return;
        stopped = true;
        await running.stop();
      };
      teardown.push(stop);
      return { grpcPort: running.grpcPort, stop };
    },
    async spawnInvite(extra = {}) {
      const p = spawnService("invite", { ...env.env, ...INVITE_TEST_ENV, ...extra });
      teardown.push(() => p.kill());
      await withDeadline(p.ready, 90_000, () => `invite did not become ready:\n${p.output().slice(-3000)}`);
      return p;
    },
  };
  if (inviteEnv !== false) await s.startInvite(inviteEnv);
  return s;
}

/** A predicate for assert.rejects: the DaaluError has this reason (and code/http when given). */
export function reason(r: string, code?: number, httpStatus?: number) {
  return (e: DaaluError) => {
    if (e.reason !== r) throw new Error(`expected reason ${r}, got ${e.reason} (${e.message})`);
    if (code !== undefined && e.code !== code) throw new Error(`expected code ${code}, got ${e.code}`);
    if (httpStatus !== undefined && e.httpStatus !== httpStatus) throw new Error(`expected http ${httpStatus}, got ${e.httpStatus}`);
    return true;
  };
}

/** Fails with `message()` instead of hanging when `p` does not settle in time. */
async function withDeadline<T>(p: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message())), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
