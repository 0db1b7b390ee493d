/**
 * @daalu/testing — one harness for integration tests (nats.js test_helpers,
 * headscale integration). Real servers only:
 *   - a Docker engine reachable -> PostgreSQL and NATS (JetStream) containers
 *     via testcontainers, started once per test process;
 *   - otherwise DATABASE_URL / NATS_URL, defaulting to 127.0.0.1:5432 (db test)
 *     and 127.0.0.1:4222 (`scripts/ensure-services.sh` starts them).
 * Each `setup()` gets its own database and its own NATS subject prefix, so
 * tests never see each other's data.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import pg from "pg";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";

export const DEFAULT_TEST_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test";
export const DEFAULT_TEST_NATS_URL = "nats://127.0.0.1:4222";

interface Servers {
  databaseUrl: string;
  natsUrl: string;
  stop(): Promise<void>;
}

let servers: Promise<Servers> | undefined;

function dockerReachable(): boolean {
  if (process.env["DAALU_TEST_NO_DOCKER"] === "1") return false;
  const host = process.env["DOCKER_HOST"];
  if (host) return true;
  return existsSync("/var/run/docker.sock");
}

async function startServers(): Promise<Servers> {
  const envDb = process.env["DATABASE_URL"];
  const envNats = process.env["NATS_URL"];
  if (!envDb && !envNats && dockerReachable()) {
    try {
      const { GenericContainer, Wait } = await import("testcontainers");
      const pgc = await new GenericContainer("postgres:16-alpine")
        .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: "trust", POSTGRES_DB: "test" })
        .withExposedPorts(5432)
        .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
        .start();
      const nc = await new GenericContainer("nats:2.10-alpine").withCommand(["-js"]).withExposedPorts(4222).start();
      return {
        databaseUrl: `postgres://postgres@${pgc.getHost()}:${pgc.getMappedPort(5432)}/test`,
        natsUrl: `nats://${nc.getHost()}:${nc.getMappedPort(4222)}`,
        stop: async () => {
          await Promise.allSettled([pgc.stop(), nc.stop()]);
        },
      };
    } catch (err) {
      process.stderr.write(`testcontainers unavailable (${(err as Error).message}); using local servers\n`);
    }
  }
  return {
    databaseUrl: envDb ?? DEFAULT_TEST_DATABASE_URL,
    natsUrl: envNats ?? DEFAULT_TEST_NATS_URL,
    stop: async () => undefined,
  };
}

/** The shared servers of this test process. */
export function testServers(): Promise<Servers> {
  servers ??= startServers();
  return servers;
}

export interface TestEnv {
  /** A fresh database of this test only. */
  databaseUrl: string;
  natsUrl: string;
  /** A subject prefix of this test only (DAALU_NATS_PREFIX). */
  prefix: string;
  nc: NatsConnection;
  /** Environment for a service process of this test. */
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

/** Creates an isolated database + subject prefix. Call `cleanup()` after. */
export async function setup(): Promise<TestEnv> {
  const s = await testServers();
  const id = randomBytes(6).toString("hex");
  const dbName = `daalu_t_${id}`;
  const admin = new pg.Client({ connectionString: s.databaseUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${dbName}`);
  } finally {
    await admin.end();
  }
  const u = new URL(s.databaseUrl);
  u.pathname = `/${dbName}`;
  const databaseUrl = u.toString();
  const nc = await connect({ servers: s.natsUrl, name: `test-${id}` });
  const prefix = `t${id}`;
  return {
    databaseUrl,
    natsUrl: s.natsUrl,
    prefix,
    nc,
    env: {
      DATABASE_URL: databaseUrl,
      NATS_URL: s.natsUrl,
      DAALU_NATS_PREFIX: prefix,
      LOG_LEVEL: process.env["LOG_LEVEL"] ?? "warn",
      // Peering seals the hub's private key with it (a fresh key-encryption key per test).
      PEERING_KEY_ENCRYPTION_KEYS: `test:${randomBytes(32).toString("base64")}`,
    },
    async cleanup() {
      // The JetStream streams the test's services made (named `<prefix>_…`) go with it.
      await deleteStreams(nc, `${prefix}_`).catch(() => undefined);
      await nc.drain().catch(() => undefined);
      const a = new pg.Client({ connectionString: s.databaseUrl });
      await a.connect();
      try {
        await a.query(`drop database if exists ${dbName} with (force)`);
      } finally {
        await a.end();
      }
    },
  };
}

async function deleteStreams(nc: NatsConnection, namePrefix: string): Promise<void> {
  const jsm = await jetstreamManager(nc);
  for await (const name of jsm.streams.names()) if (name.startsWith(namePrefix)) await jsm.streams.delete(name);
}

/**
 * Polls `check` until it stops throwing (headscale's EventuallyWithT). Keep
 * state-changing actions outside it; only observation belongs inside.
 */
export async function eventually<T>(check: () => Promise<T> | T, opts: { timeoutMs?: number; intervalMs?: number } = {}): Promise<T> {
  const timeout = opts.timeoutMs ?? 10_000;
  const interval = opts.intervalMs ?? 50;
  const start = Date.now();
  let last: unknown;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      last = err;
    }
    if (Date.now() - start > timeout) throw last;
    await new Promise((r) => setTimeout(r, interval));
  }
}

/**
 * Polls `read` until it returns the same value `polls` times in a row,
 * `intervalMs` apart: the moment data stops flowing (e.g. every buffer in
 * front of a paused reader is full). Not 5 polls: an API server's unsent
 * figure moves in steps, because its socket becomes writable again only once
 * the reader's side took a good share of several MiB of kernel send buffer,
 * and at a slow pace such a step was seen to take over 250 ms while bytes
 * still moved.
 */
export async function stopsChanging(read: () => number, polls = 20, intervalMs = 50, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = read();
  let same = 0;
  while (same < polls) {
    if (Date.now() > deadline) throw new Error(`still changing after ${timeoutMs} ms (last ${last})`);
    await new Promise((r) => setTimeout(r, intervalMs));
    const now = read();
    same = now === last ? same + 1 : 0;
    last = now;
  }
  return last;
}

export { spawnService, type ServiceProcess } from "./process.js";
export { startNatsServer, type NatsServerProcess } from "./nats-server.js";
export { findHelm, runHelm, HELM_MISSING, REPO_ROOT, type HelmResult } from "./helm.js";
export { startOtlpReceiver, OtlpSpanKind, type OtlpReceiver, type ReceivedSpan } from "./otlp/receiver.js";
