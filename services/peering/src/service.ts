/**
 * Wiring of the peering service, runnable in-process (tests) or from main.ts.
 */
import { readFile } from "node:fs/promises";
import { CallerKind, peeringv1 } from "@daalu/proto";
import { inviteClient } from "@daalu/invite";
import {
  bindGrpc,
  connectNats,
  createDb,
  createPool,
  grpc,
  migrateToLatest,
  serveGrpc,
  serveNats,
  shutdownGrpc,
  type Closer,
  type Logger,
  type NatsConnection,
} from "@daalu/runtime";
import { isValidKey } from "@daalu/wireguard";
import type { Kysely } from "kysely";
import type { PeeringConfig } from "./config.js";
import { ClusterEvents } from "./adapters/nats/events.js";
import { peeringImpl, type HubInfo } from "./adapters/nats/handlers.js";
import { migrations } from "./adapters/pg/migrations.js";
import type { PeeringDb } from "./adapters/pg/schema.js";
import { PeeringStore } from "./adapters/pg/store.js";
import { HealthStore } from "./adapters/pg/health-store.js";
import { settlePending, startRecovery } from "./recovery.js";
import { HubNode } from "./wg-node/hub-node.js";

export const SCHEMA = "peering";

/** How long a reservation waits for the invite service to say how an earlier enrollment in its way ended. */
const SETTLE_TIMEOUT_MS = 5_000;

export interface PeeringService {
  store: PeeringStore;
  nc: NatsConnection;
  db: Kysely<PeeringDb>;
  hub: HubInfo;
  /** Bound gRPC port, or undefined when gRPC is off. */
  grpcPort: number | undefined;
  /** The hub's WireGuard node when PEERING_WG=on. */
  hubNode: HubNode | undefined;
  /** Closers in drain order: adapters, sweep, then connections. */
  closers(): Closer[];
  stop(): Promise<void>;
}

async function readHubKey(file: string | undefined): Promise<string | undefined> {
  if (!file) return undefined;
  const key = (await readFile(file, "utf8")).trim();
  if (!isValidKey(key)) throw new Error(`PEERING_HUB_PRIVATE_KEY_FILE ${file} does not hold a WireGuard key (base64 of 32 bytes)`);
  return key;
}

/** Connects, migrates, and serves PeeringService on NATS (queue group "peering") and gRPC. */
export async function start(config: PeeringConfig, logger: Logger): Promise<PeeringService> {
  const hubPrivateKey = await readHubKey(config.hubPrivateKeyFile);
  const pgPool = createPool({ url: config.databaseUrl, schema: SCHEMA, poolSize: config.dbPoolSize, logger });
  const db = createDb<PeeringDb>({ url: config.databaseUrl, schema: SCHEMA }, pgPool);
  await migrateToLatest(db as Kysely<unknown>, SCHEMA, migrations, logger.child({ component: "migrate" }));
  const store = new PeeringStore(db, {
    pool: config.subnetPool,
    hubPool: config.hubPool,
    defaultPrefix: config.defaultPrefix,
    growthBits: config.growthBits,
    ...(hubPrivateKey ? { hubPrivateKey } : {}),
    logger: logger.child({ component: "store" }),
    pgPool,
  });
  const identity = await store.hubIdentity();
  const hub: HubInfo = { publicKey: identity.publicKey, endpoint: config.hubEndpoint, keepaliveSeconds: Math.round(config.keepaliveMs / 1000) };

  const nc = await connectNats(config.natsUrl, config.serviceName, logger);
  const events = new ClusterEvents(nc, config.natsPrefix, logger.child({ component: "events" }));
  const invite = inviteClient(nc, { prefix: config.natsPrefix, defaults: { caller: { kind: CallerKind.SERVICE, id: "peering" } } });
  const recoveryLog = logger.child({ component: "recovery" });
  const impl = peeringImpl({
    store,
    events,
    hub,
    settlePending: (clusterId) => settlePending({ store, invite, events, logger: recoveryLog }, clusterId, SETTLE_TIMEOUT_MS),
  });
  const natsServer = serveNats(nc, peeringv1.PeeringService, impl, { prefix: config.natsPrefix, queue: config.serviceName, logger: logger.child({ component: "nats" }) });
  // Subscriptions are on the server once flush returns, before anyone hears we are ready.
  await nc.flush();

  let grpcServer: grpc.Server | undefined;
  let grpcPort: number | undefined;
  if (config.grpcAddr !== "off") {
    grpcServer = new grpc.Server();
    serveGrpc(grpcServer, peeringv1.PeeringService, impl, logger.child({ component: "grpc" }));
    grpcPort = await bindGrpc(grpcServer, config.grpcAddr);
  }

  const recovery = startRecovery({
    store,
    invite,
    events,
    logger: recoveryLog,
    pendingTimeoutMs: config.pendingTimeoutMs,
    intervalMs: config.recoveryIntervalMs,
  });

  // The hub's WireGuard node: one per hub host (PEERING_WG=on); other replicas only serve the API.
  let hubNode: HubNode | undefined;
  if (config.hubNode) {
    hubNode = new HubNode({
      store,
      health: new HealthStore(db),
      nc,
      prefix: config.natsPrefix,
      logger,
      config: config.hubNode,
      guardCidrs: [config.subnetPool, config.hubPool],
    });
    await hubNode.start();
  }

  const closers = (): Closer[] => [
    { name: "nats-server", close: () => natsServer.drain() },
    ...(hubNode ? [{ name: "wg-node", close: () => hubNode!.stop() }] : []),
    ...(grpcServer ? [{ name: "grpc", close: () => shutdownGrpc(grpcServer!, config.drainTimeoutMs) }] : []),
    { name: "recovery", close: () => recovery.stop() },
    { name: "nats", close: () => nc.drain() },
    { name: "db", close: () => db.destroy() },
  ];
  return {
    store,
    nc,
    db,
    hub,
    grpcPort,
    hubNode,
    closers,
    async stop() {
      for (const c of closers()) await c.close().catch((err) => logger.warn({ err, closer: c.name }, "close failed"));
    },
  };
}
