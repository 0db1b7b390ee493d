import { driftv1 } from "@daalu/proto";
import { assemble, connectNats, createDb, migrateToLatest, serveGrpc, serveGrpcOn, serveNats, type Logger, type Running, type ServiceDefinition } from "@daalu/runtime";
import type { Kysely } from "kysely";
import { createAuditPublisher } from "@daalu/audit";
import { DriftEvents } from "./adapters/nats/events.js";
import { driftHandlers } from "./adapters/nats/handlers.js";
import { tunnelReader, type TunnelRead } from "./adapters/nats/tunnel-reader.js";
import { ReconciliationStore } from "./adapters/pg/reconciliation-store.js";
import { Detector } from "./detector.js";
import { Scheduler } from "./scheduler.js";
import { migrations } from "./adapters/pg/migrations.js";
import type { DriftDb } from "./adapters/pg/schema.js";
import { BundleStore } from "./adapters/pg/store.js";
import { SERVICE_NAME, loadConfig, type DriftConfig } from "./config.js";

export const SCHEMA = "drift";

/** A running drift service. */
export interface RunningDrift extends Running {
  /** The bound gRPC port, or undefined when gRPC is off. */
  grpcPort: number | undefined;
  /** The schedule (tests call `tick(now)` with DRIFT_SCHEDULE_TICK=0s). */
  scheduler: Scheduler;
}

/** What in-process tests and benches may replace. */
export interface StartOptions {
  /** The clock of schedules and reports (ms since the epoch). */
  clock?: () => number;
  /** How reads reach a cluster (default: through the tunnel-proxy). */
  read?: TunnelRead;
}

/** Wires the drift service: database (migrated), NATS (queue group "drift"), gRPC, the schedule. */
export function start(config: DriftConfig, logger: Logger, opts: StartOptions = {}): Promise<RunningDrift> {
  const clock = opts.clock ?? Date.now;
  return assemble(logger, async (res) => {
    const nc = await connectNats(config.natsUrl, SERVICE_NAME, logger);
    res.add("nats", () => nc.drain());
    const db: Kysely<DriftDb> = createDb<DriftDb>({ url: config.databaseUrl, schema: SCHEMA, poolSize: config.dbPoolSize, logger });
    res.add("db", () => db.destroy());
    await migrateToLatest(db as Kysely<unknown>, SCHEMA, migrations, logger);
    const bundles = new BundleStore(db);
    const store = new ReconciliationStore(db);
    const audit = await createAuditPublisher(nc, { prefix: config.natsPrefix });
    const detector = new Detector({
      bundles,
      store,
      read: opts.read ?? tunnelReader(nc, { prefix: config.natsPrefix, timeoutMs: config.readTimeoutMs }),
      events: new DriftEvents(nc, config.natsPrefix, logger.child({ component: "events" })),
      readsPerCluster: config.readsPerCluster,
      listPageSize: config.listPageSize,
      clock,
      logger: logger.child({ component: "detector" }),
    });
    const impl = driftHandlers({ bundles, store, detector, audit, limits: { maxBytes: config.maxBundleBytes, maxDocuments: config.maxBundleDocuments }, clock });
    const nats = await serveNats(nc, driftv1.DriftService, impl, { prefix: config.natsPrefix, queue: SERVICE_NAME, logger: logger.child({ component: "nats" }) });
    res.add("nats-server", () => nats.drain());
    const grpcPort = config.grpcAddr ? await serveGrpcOn(res, config.grpcAddr, config.drainTimeoutMs, (server) => serveGrpc(server, driftv1.DriftService, impl, logger.child({ component: "grpc" }))) : undefined;
    const scheduler = new Scheduler(store, detector, { tickMs: config.tickMs, maxChecks: config.maxChecks, clock, logger: logger.child({ component: "scheduler" }) });
    await scheduler.start(nc, config.natsPrefix);
    // Stopped before the servers and connections it uses; waits for running checks.
    res.add("scheduler", () => scheduler.stop());
    return { grpcPort, scheduler };
  });
}

/** The drift service for runService (main.ts) and in-process stacks. */
export const driftService: ServiceDefinition<DriftConfig, RunningDrift> = {
  name: SERVICE_NAME,
  loadConfig,
  start,
  readyFields: (r, c) => ({ grpcPort: r.grpcPort, maxBundleBytes: c.maxBundleBytes }),
};
