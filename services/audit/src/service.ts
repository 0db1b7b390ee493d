import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { auditv1 } from "@daalu/proto";
import {
  Failpoints,
  assemble,
  connectNats,
  createDb,
  migrateToLatest,
  serveGrpc,
  serveGrpcOn,
  serveNats,
  type Logger,
  type NatsConnection,
  type Running,
  type ServiceDefinition,
} from "@daalu/runtime";
import type { Kysely } from "kysely";
import { auditHandlers } from "./adapters/nats/handlers.js";
import { consumerBacklog, ensureAuditConsumer, ensureAuditStream } from "./adapters/nats/stream.js";
import { trackAuditWriter } from "./adapters/metrics.js";
import { AuditWriter, type WriterStats } from "./adapters/nats/writer.js";
import { startSessionSweeper } from "./adapters/nats/session-sweeper.js";
import { migrations } from "./adapters/pg/migrations.js";
import type { AuditDb } from "./adapters/pg/schema.js";
import { AuditStore } from "./adapters/pg/store.js";
import { SERVICE_NAME, loadConfig, type AuditConfig } from "./config.js";

export const SCHEMA = "audit";

/** A running audit service. */
export interface RunningAudit extends Running {
  /** The bound gRPC port, or undefined when gRPC is off. */
  grpcPort: number | undefined;
  /** The writer's counters (inserted, duplicates, malformed, failures). */
  stats(): WriterStats;
}

/**
 * Wires the audit service: database (migrated), the JetStream stream and the
 * shared durable consumer, the batch writer, and the query API on NATS (queue
 * group "audit") and gRPC. Used by main.ts and, in-process, by tests.
 */
export function start(config: AuditConfig, logger: Logger): Promise<RunningAudit> {
  return assemble(logger, async (res) => {
    const nc: NatsConnection = await connectNats(config.natsUrl, SERVICE_NAME, logger);
    res.add("nats", () => nc.drain());
    const db: Kysely<AuditDb> = createDb<AuditDb>({ url: config.databaseUrl, schema: SCHEMA, poolSize: config.dbPoolSize, logger });
    res.add("db", () => db.destroy());
    await migrateToLatest(db as Kysely<unknown>, SCHEMA, migrations, logger);
    const jsm = await jetstreamManager(nc);
    await ensureAuditStream(jsm, config.natsPrefix);
    // max_ack_pending is shared by every replica: a few batches in flight, bounded memory.
    await ensureAuditConsumer(jsm, config.natsPrefix, { maxAckPending: config.batchSize * 4, ackWaitMs: config.ackWaitMs });
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
    res.add("writer", () => writer.stop());
    // Rows of sessions whose tunnel-proxy died are marked interrupted once its heartbeats stop (session-owners.ts).
    const sweeper = startSessionSweeper({ nc, prefix: config.natsPrefix, store, ownerTimeoutMs: config.sessionOwnerTimeoutMs, logger: logger.child({ component: "session-sweeper" }) });
    res.add("session-sweeper", () => sweeper.stop());
    res.add("metrics", trackAuditWriter({ stats: () => writer.stats, pending: () => consumerBacklog(jsm, config.natsPrefix) }));

    const impl = auditHandlers(store, { sessionInterruptedAfterMs: config.sessionInterruptedAfterMs });
    const nats = await serveNats(nc, auditv1.AuditService, impl, { prefix: config.natsPrefix, queue: SERVICE_NAME, logger: logger.child({ component: "nats" }) });
    res.add("nats-server", () => nats.drain());
    const grpcPort = config.grpcAddr ? await serveGrpcOn(res, config.grpcAddr, config.drainTimeoutMs, (server) => serveGrpc(server, auditv1.AuditService, impl, logger.child({ component: "grpc" }))) : undefined;
    return { grpcPort, stats: () => ({ ...writer.stats }) };
  });
}

/** The audit service for runService (main.ts) and in-process stacks. */
export const auditService: ServiceDefinition<AuditConfig, RunningAudit> = {
  name: SERVICE_NAME,
  loadConfig,
  start,
  readyFields: (r, c) => ({ grpcPort: r.grpcPort, batchSize: c.batchSize, batchWaitMs: c.batchWaitMs, failpoints: c.failpoints }),
};
