/**
 * Wiring of the peering service, runnable in-process (tests) or from main.ts.
 */
import { readFile } from "node:fs/promises";
import { CallerKind, peeringv1 } from "@daalu/proto";
import { inviteClient } from "@daalu/invite";
import {
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
import { isValidKey } from "@daalu/wireguard";
import type { Kysely } from "kysely";
import { SERVICE_NAME, loadConfig, type PeeringConfig } from "./config.js";
import { ClusterEvents } from "./adapters/nats/events.js";
import { ensureEventsStream } from "./adapters/nats/events-stream.js";
import { peeringImpl, type HubInfo } from "./adapters/nats/handlers.js";
import { migrations } from "./adapters/pg/migrations.js";
import type { PeeringDb } from "./adapters/pg/schema.js";
import { PeeringStore } from "./adapters/pg/store.js";
import { HealthStore } from "./adapters/pg/health-store.js";
import { settlePending, startRecovery } from "./recovery.js";
import { HubNode } from "./wg-node/hub-node.js";
import { RbacReports } from "./wg-node/rbac-reports.js";

export const SCHEMA = "peering";

/** How long a reservation waits for the invite service to say how an earlier enrollment in its way ended. */
const SETTLE_TIMEOUT_MS = 5_000;

export interface PeeringService extends Running {
  store: PeeringStore;
  nc: NatsConnection;
  db: Kysely<PeeringDb>;
  hub: HubInfo;
  /** Bound gRPC port, or undefined when gRPC is off. */
  grpcPort: number | undefined;
  /** The hub's WireGuard node when PEERING_WG=on. */
  hubNode: HubNode | undefined;
}

async function readHubKey(file: string | undefined): Promise<string | undefined> {
  if (!file) return undefined;
  const key = (await readFile(file, "utf8")).trim();
  if (!isValidKey(key)) throw new Error(`PEERING_HUB_PRIVATE_KEY_FILE ${file} does not hold a WireGuard key (base64 of 32 bytes)`);
  return key;
}

/** Connects, migrates, and serves PeeringService on NATS (queue group "peering") and gRPC. */
export function start(config: PeeringConfig, logger: Logger): Promise<PeeringService> {
  return assemble(logger, async (res) => {
    const hubPrivateKey = await readHubKey(config.hubPrivateKeyFile);
    const pgPool = createPool({ url: config.databaseUrl, schema: SCHEMA, poolSize: config.dbPoolSize, logger });
    const db = createDb<PeeringDb>({ url: config.databaseUrl, schema: SCHEMA }, pgPool);
    res.add("db", () => db.destroy());
    await migrateToLatest(db as Kysely<unknown>, SCHEMA, migrations, logger.child({ component: "migrate" }));
    const store = new PeeringStore(db, {
      pool: config.subnetPool,
      hubPool: config.hubPool,
      defaultPrefix: config.defaultPrefix,
      growthBits: config.growthBits,
      ...(hubPrivateKey ? { hubPrivateKey } : {}),
      ...(config.keyRing ? { keyRing: config.keyRing } : {}),
      logger: logger.child({ component: "store" }),
      pgPool,
    });
    const identity = await store.hubIdentity();
    const hub: HubInfo = { publicKey: identity.publicKey, endpoint: config.hubEndpoint, endpoints: config.hubEndpoints, keepaliveSeconds: Math.round(config.keepaliveMs / 1000) };

    const nc = await connectNats(config.natsUrl, config.serviceName, logger);
    res.add("nats", () => nc.drain());
    // Every event published below is kept for live views that resume (GET /v1/events).
    await ensureEventsStream(nc, config.natsPrefix);
    const events = new ClusterEvents(nc, config.natsPrefix, logger.child({ component: "events" }), config.edgeReleases);
    const invite = inviteClient(nc, { prefix: config.natsPrefix, defaults: { caller: { kind: CallerKind.SERVICE, id: "peering" } } });
    const recoveryLog = logger.child({ component: "recovery" });
    const impl = peeringImpl({
      store,
      events,
      hub,
      releases: config.edgeReleases,
      settlePending: (clusterId) => settlePending({ store, invite, events, logger: recoveryLog }, clusterId, SETTLE_TIMEOUT_MS),
    });
    const natsServer = await serveNats(nc, peeringv1.PeeringService, impl, { prefix: config.natsPrefix, queue: config.serviceName, logger: logger.child({ component: "nats" }) });
    res.add("nats-server", () => natsServer.drain());
    const grpcPort = config.grpcAddr !== "off" ? await serveGrpcOn(res, config.grpcAddr, config.drainTimeoutMs, (server) => serveGrpc(server, peeringv1.PeeringService, impl, logger.child({ component: "grpc" }))) : undefined;

    const recovery = startRecovery({
      store,
      invite,
      events,
      logger: recoveryLog,
      pendingTimeoutMs: config.pendingTimeoutMs,
      intervalMs: config.recoveryIntervalMs,
    });
    res.add("recovery", () => recovery.stop());

    // The hub's WireGuard node: one per hub host (PEERING_WG=on); other replicas only serve the API.
    let hubNode: HubNode | undefined;
    if (config.hubNode) {
      const node = new HubNode({
        store,
        health: new HealthStore(db),
        rbac: new RbacReports(store.rbac, logger.child({ component: "rbac" })),
        nc,
        prefix: config.natsPrefix,
        logger,
        config: config.hubNode,
        edgeReleases: config.edgeReleases,
        guardCidrs: [config.subnetPool, config.hubPool],
        hubEndpoints: config.hubEndpoints,
      });
      // Half the drain budget hands the edges to other nodes (several hub nodes); the rest closes everything else.
      res.add("wg-node", () => node.drainAndStop(config.drainTimeoutMs / 2));
      await node.start();
      hubNode = node;
    }
    return { store, nc, db, hub, grpcPort, hubNode };
  });
}

/** The peering service for runService (main.ts) and in-process stacks. */
export const peeringService: ServiceDefinition<PeeringConfig, PeeringService> = {
  name: SERVICE_NAME,
  loadConfig,
  start,
  readyFields: (r, c) => ({ grpcPort: r.grpcPort, subnetPool: c.subnetPool, hubEndpoint: c.hubEndpoint, hubPublicKey: r.hub.publicKey }),
};
