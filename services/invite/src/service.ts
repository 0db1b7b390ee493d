import { CallerKind, invitev1 } from "@daalu/proto";
import { peeringClient, peeringSender } from "@daalu/peering";
import {
  Failpoints,
  assemble,
  connectNats,
  createDb,
  createPool,
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
import { inviteHandlers } from "./adapters/nats/handlers.js";
import { migrations } from "./adapters/pg/migrations.js";
import type { InviteDb } from "./adapters/pg/schema.js";
import { InviteStore } from "./adapters/pg/store.js";
import { SERVICE_NAME, loadConfig, type InviteConfig } from "./config.js";
import { Invites } from "./invites.js";

export const SCHEMA = "invite";

/** A running invite service. */
export interface RunningInvite extends Running {
  /** The bound gRPC port, or undefined when gRPC is off. */
  grpcPort: number | undefined;
}

/**
 * Wires the invite service: database (migrated), NATS (queue group "invite"),
 * gRPC, and the peering client. Used by main.ts and, in-process, by tests
 * (which may pass a clock: `now` decides creation, expiry and redemption times).
 */
export function start(config: InviteConfig, logger: Logger, deps: { now?: () => Date } = {}): Promise<RunningInvite> {
  return assemble(logger, async (res) => {
    const nc: NatsConnection = await connectNats(config.natsUrl, SERVICE_NAME, logger);
    res.add("nats", () => nc.drain());
    const pool = createPool({ url: config.databaseUrl, schema: SCHEMA, poolSize: config.dbPoolSize, logger });
    const db: Kysely<InviteDb> = createDb<InviteDb>({ url: config.databaseUrl, schema: SCHEMA }, pool);
    res.add("db", () => db.destroy());
    await migrateToLatest(db as Kysely<unknown>, SCHEMA, migrations, logger);
    const peering = peeringClient(nc, {
      prefix: config.natsPrefix,
      defaults: { caller: { kind: CallerKind.SERVICE, id: SERVICE_NAME }, timeoutMs: config.peeringTimeoutMs },
    });
    const invitesLog = logger.child({ component: "invites" });
    const peeringSend = peeringSender(nc, {
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
      now: deps.now,
    });
    const impl = inviteHandlers(invites);
    const nats = await serveNats(nc, invitev1.InviteService, impl, { prefix: config.natsPrefix, queue: SERVICE_NAME, logger: logger.child({ component: "nats" }) });
    res.add("nats-server", () => nats.drain());
    const grpcPort = config.grpcAddr ? await serveGrpcOn(res, config.grpcAddr, config.drainTimeoutMs, (server) => serveGrpc(server, invitev1.InviteService, impl, logger.child({ component: "grpc" }))) : undefined;
    return { grpcPort };
  });
}

/** The invite service for runService (main.ts) and in-process stacks. */
export const inviteService: ServiceDefinition<InviteConfig, RunningInvite> = {
  name: SERVICE_NAME,
  loadConfig,
  start,
  readyFields: (r, c) => ({ grpcPort: r.grpcPort, ttlMs: c.ttlMs, failpoints: c.failpoints }),
};
