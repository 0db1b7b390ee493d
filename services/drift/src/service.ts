import { driftv1 } from "@daalu/proto";
import { assemble, connectNats, createDb, migrateToLatest, serveGrpc, serveGrpcOn, serveNats, type Logger, type Running, type ServiceDefinition } from "@daalu/runtime";
import type { Kysely } from "kysely";
import { driftHandlers } from "./adapters/nats/handlers.js";
import { migrations } from "./adapters/pg/migrations.js";
import type { DriftDb } from "./adapters/pg/schema.js";
import { BundleStore } from "./adapters/pg/store.js";
import { SERVICE_NAME, loadConfig, type DriftConfig } from "./config.js";

export const SCHEMA = "drift";

/** A running drift service. */
export interface RunningDrift extends Running {
  /** The bound gRPC port, or undefined when gRPC is off. */
  grpcPort: number | undefined;
}

/** Wires the drift service: database (migrated), NATS (queue group "drift"), gRPC. */
export function start(config: DriftConfig, logger: Logger): Promise<RunningDrift> {
  return assemble(logger, async (res) => {
    const nc = await connectNats(config.natsUrl, SERVICE_NAME, logger);
    res.add("nats", () => nc.drain());
    const db: Kysely<DriftDb> = createDb<DriftDb>({ url: config.databaseUrl, schema: SCHEMA, poolSize: config.dbPoolSize, logger });
    res.add("db", () => db.destroy());
    await migrateToLatest(db as Kysely<unknown>, SCHEMA, migrations, logger);
    const impl = driftHandlers(new BundleStore(db), { maxBytes: config.maxBundleBytes, maxDocuments: config.maxBundleDocuments });
    const nats = await serveNats(nc, driftv1.DriftService, impl, { prefix: config.natsPrefix, queue: SERVICE_NAME, logger: logger.child({ component: "nats" }) });
    res.add("nats-server", () => nats.drain());
    const grpcPort = config.grpcAddr ? await serveGrpcOn(res, config.grpcAddr, config.drainTimeoutMs, (server) => serveGrpc(server, driftv1.DriftService, impl, logger.child({ component: "grpc" }))) : undefined;
    return { grpcPort };
  });
}

/** The drift service for runService (main.ts) and in-process stacks. */
export const driftService: ServiceDefinition<DriftConfig, RunningDrift> = {
  name: SERVICE_NAME,
  loadConfig,
  start,
  readyFields: (r, c) => ({ grpcPort: r.grpcPort, maxBundleBytes: c.maxBundleBytes }),
};
