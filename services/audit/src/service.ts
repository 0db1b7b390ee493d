import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { auditv1 } from "@daalu/proto";
import {
  Failpoints,
  bindGrpc,
  connectNats,
  createDb,
  grpc,
  migrateToLatest,
  serveGrpc,
  serveNats,
  shutdownGrpc,
  type Closer,
  type Logger,
  type NatsConnection,
} from "@daalu/runtime";
import type { Kysely } from "kysely";
import { auditHandlers } from "./adapters/nats/handlers.js";
import { ensureAuditConsumer, ensureAuditStream } from "./adapters/nats/stream.js";
import { AuditWriter, type WriterStats } from "./adapters/nats/writer.js";
import { migrations } from "./adapters/pg/migrations.js";
import type { AuditDb } from "./adapters/pg/schema.js";
import { AuditStore } from "./adapters/pg/store.js";
import { SERVICE_NAME, type AuditConfig } from "./config.js";

export const SCHEMA = "audit";

/** A running audit service. */
export interface RunningAudit {
  /** The bound gRPC port, or undefined when gRPC is off. */
  grpcPort: number | undefined;
  /** The writer's counters (inserted, duplicates, malformed, failures). */
  stats(): WriterStats;
  /** In shutdown order: the writer and adapters first, then connections. */
  closers: Closer[];
  stop(): Promise<void>;
}

/**
 * Wires the audit service: database (migrated), the JetStream stream and the
 * shared durable consumer, the batch writer, and the query API on NATS (queue
 * group "audit") and gRPC. Used by main.ts and, in-process, by tests.
 */
export async function start(config: AuditConfig, logger: Logger): Promise<RunningAudit> {
  const nc: NatsConnection = await connectNats(config.natsUrl, SERVICE_NAME, logger);
  const db: Kysely<AuditDb> = createDb<AuditDb>({ url: config.databaseUrl, schema: SCHEMA, poolSize: config.dbPoolSize, logger });
  try {
    await migrateToLatest(db as Kysely<unknown>, SCHEMA, migrations, logger);
    const jsm = await jetstreamManager(nc);
    await ensureAuditStream(jsm, config.natsPrefix);
    // max_ack_pending is shared by every replica: a few batches in flight, bounded memory.
    await ensureAuditConsumer(jsm, config.natsPrefix, { maxAckPending: config.batchSize * 4, ackWaitMs: config.ackWaitMs });
  } catch (err) {
    await db.destroy().catch(() => undefined);
    await nc.close().catch(() => undefined);
    throw err;
  }
  const store = new AuditStore(db);
  const writer = new AuditWriter({
    js: jetstream(nc),
    prefix: config.natsPrefix,
    store,
    batchSize: config.batchSize,
    batchWaitMs: config.batchWaitMs,
    retryMaxMs: config.retryMaxMs,
    failpoints: new Failpoints(config.failpoints),
    logger: logger.child({ component: "writer" }),
  });
  writer.start();

  const impl = auditHandlers(store);
  const nats = serveNats(nc, auditv1.AuditService, impl, { prefix: config.natsPrefix, queue: SERVICE_NAME, logger: logger.child({ component: "nats" }) });
  // Subscriptions are on the server once flush returns, before anyone hears we are ready.
  await nc.flush();
  let grpcServer: grpc.Server | undefined;
  let grpcPort: number | undefined;
  if (config.grpcAddr) {
    grpcServer = new grpc.Server();
    serveGrpc(grpcServer, auditv1.AuditService, impl, logger.child({ component: "grpc" }));
    grpcPort = await bindGrpc(grpcServer, config.grpcAddr);
  }

  const closers: Closer[] = [
    { name: "writer", close: () => writer.stop() },
    { name: "nats-server", close: () => nats.drain() },
    ...(grpcServer ? [{ name: "grpc-server", close: () => shutdownGrpc(grpcServer, config.drainTimeoutMs) }] : []),
    { name: "nats", close: () => nc.drain() },
    { name: "db", close: () => db.destroy() },
  ];
  return {
    grpcPort,
    stats: () => ({ ...writer.stats }),
    closers,
    async stop() {
      for (const c of closers) await c.close().catch((err: unknown) => logger.warn({ err, closer: c.name }, "close failed"));
    },
  };
}
