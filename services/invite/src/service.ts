import { CallerKind, invitev1, peeringv1 } from "@daalu/proto";
import {
  Failpoints,
  bindGrpc,
  connectNats,
  createDb,
  createPool,
  grpc,
  migrateToLatest,
  natsClient,
  natsSender,
  serveGrpc,
  serveNats,
  shutdownGrpc,
  type Closer,
  type Logger,
  type NatsConnection,
} from "@daalu/runtime";
import type { Kysely } from "kysely";
import { inviteHandlers } from "./adapters/nats/handlers.js";
import { migrations } from "./adapters/pg/migrations.js";
import type { InviteDb } from "./adapters/pg/schema.js";
import { InviteStore } from "./adapters/pg/store.js";
import { SERVICE_NAME, type InviteConfig } from "./config.js";
import { Invites } from "./invites.js";

export const SCHEMA = "invite";

/** A running invite service. */
export interface RunningInvite {
  /** The bound gRPC port, or undefined when gRPC is off. */
  grpcPort: number | undefined;
  /** In shutdown order: adapters first (in-flight requests finish), then connections. */
  closers: Closer[];
  /** Closes everything in order. */
  stop(): Promise<void>;
}

/**
 * Wires the invite service: database (migrated), NATS (queue group "invite"),
 * gRPC, and the peering client. Used by main.ts and, in-process, by tests.
 */
export async function start(config: InviteConfig, logger: Logger): Promise<RunningInvite> {
  const nc: NatsConnection = await connectNats(config.natsUrl, SERVICE_NAME, logger);
  const pool = createPool({ url: config.databaseUrl, schema: SCHEMA, poolSize: config.dbPoolSize, logger });
  const db: Kysely<InviteDb> = createDb<InviteDb>({ url: config.databaseUrl, schema: SCHEMA }, pool);
  try {
    await migrateToLatest(db as Kysely<unknown>, SCHEMA, migrations, logger);
  } catch (err) {
    await db.destroy().catch(() => undefined);
    await nc.close().catch(() => undefined);
    throw err;
  }
  const peering = natsClient(nc, peeringv1.PeeringService, {
    prefix: config.natsPrefix,
    defaults: { caller: { kind: CallerKind.SERVICE, id: SERVICE_NAME }, timeoutMs: config.peeringTimeoutMs },
  });
  const invitesLog = logger.child({ component: "invites" });
  const peeringSend = natsSender(nc, peeringv1.PeeringService, {
    prefix: config.natsPrefix,
    defaults: { caller: { kind: CallerKind.SERVICE, id: SERVICE_NAME }, timeoutMs: config.peeringTimeoutMs },
    // The token is burned; peering's recovery sweep commits the enrollment without this message.
    onError: (err, subject) => invitesLog.warn({ err, subject }, "commit enrollment not sent; peering recovery will complete it"),
  });
  const invites = new Invites({
    store: InviteStore.gated(db, config.dbPoolSize, pool),
    peering,
    peeringSend,
    failpoints: new Failpoints(config.failpoints),
    logger: invitesLog,
    ttlMs: config.ttlMs,
    hubUrl: config.hubUrl,
    chartRef: config.chartRef,
    chartVersion: config.chartVersion,
    peeringTimeoutMs: config.peeringTimeoutMs,
  });
  const impl = inviteHandlers(invites);
  const nats = serveNats(nc, invitev1.InviteService, impl, { prefix: config.natsPrefix, queue: SERVICE_NAME, logger: logger.child({ component: "nats" }) });
  // "ready" must mean the server knows our subscriptions; otherwise a first
  // request from another connection can still find no responders.
  await nc.flush();

  let grpcServer: grpc.Server | undefined;
  let grpcPort: number | undefined;
  if (config.grpcAddr) {
    grpcServer = new grpc.Server();
    serveGrpc(grpcServer, invitev1.InviteService, impl, logger.child({ component: "grpc" }));
    grpcPort = await bindGrpc(grpcServer, config.grpcAddr);
  }

  const closers: Closer[] = [
    { name: "nats-server", close: () => nats.drain() },
    ...(grpcServer ? [{ name: "grpc-server", close: () => shutdownGrpc(grpcServer, config.drainTimeoutMs) }] : []),
    { name: "nats", close: () => nc.drain() },
    { name: "db", close: () => db.destroy() },
  ];
  return {
    grpcPort,
    closers,
    async stop() {
      for (const c of closers) await c.close().catch((err: unknown) => logger.warn({ err, closer: c.name }, "close failed"));
    },
  };
}
