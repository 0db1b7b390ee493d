/**
 * The hub WireGuard node against a real WireGuard peer: the hub node runs in
 * this process (root namespace, where PostgreSQL and NATS listen), the edge is
 * a plain WireGuard device plus a stand-in EdgeService inside a namespace
 * joined by veth. Thresholds are seconds so the whole story runs in about a
 * minute. Root only.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { fromBinary } from "@bufbuild/protobuf";
import { CallerKind, peeringv1 } from "@daalu/proto";
import { eventSubject, natsClient } from "@daalu/runtime";
import { fingerprint, generateKeyPair } from "@daalu/wireguard";
import { eventually, setup, type TestEnv } from "@daalu/testing";
import { assertSkipMatchesMachine, createRootLinkedNs, sh, skipReason, startAgent, type NsAgent, type RootLinkedNs } from "../../../packages/wireguard/test/netns.js";
import { HealthStore } from "../src/adapters/pg/health-store.js";
import { RbacReports } from "../src/wg-node/rbac-reports.js";
import type { PeeringService } from "../src/service.js";
import { HubNode, type HubNodeConfig } from "../src/wg-node/index.js";
import { logger, serviceClient, startPeering } from "./harness.js";

const skip = skipReason();
const EDGE_PORT = 7443;

describe("hub WireGuard node", { skip }, () => {
  let env: TestEnv;
  let svc: PeeringService;
  let link: RootLinkedNs;
  let edge: NsAgent;
  let node: HubNode;
  let health: HealthStore;
  const tenant = `t-${randomBytes(3).toString("hex")}`;
  const edgeKeys = generateKeyPair();
  let clusterId = "";
  let tunnelIp = "";
  let hubIp = "";
  let hubPublicKey = "";
  let config: HubNodeConfig;
  /** The test's subnet and hub pool, routed unreachable while a node runs: nothing aimed at them ever leaves through eth0. */
  let guardCidrs: string[] = [];
  const statusEvents: peeringv1.ClusterEvent[] = [];
  const alerts: Array<{ kind: string; alert: peeringv1.Alert }> = [];

  /** Re-adds the hub on the edge: a fresh handshake at once (the test peer's stand-in for rekeying). */
  async function kickEdge() {
    await edge.removePeer(hubPublicKey);
    await edge.setPeer({ publicKey: hubPublicKey, allowedIps: [`${hubIp}/32`], endpoint: `${link.rootAddr}:${config.listenPort}`, persistentKeepaliveSeconds: 1 });
  }

  const row = () => svc.store.getCluster(clusterId);

  before(async () => {
    env = await setup();
    link = createRootLinkedNs();
    const n = parseInt(link.ns.slice(4, 6), 16);
    // Hub addresses and the subnet of their own, so nothing in the root namespace meets anyone else's.
    guardCidrs = [`10.252.${n}.0/24`, `10.253.${n}.0/24`];
    svc = await startPeering(env, { PEERING_SUBNET_POOL: `10.252.${n}.0/24`, PEERING_HUB_POOL: `10.253.${n}.0/24` });
    health = new HealthStore(svc.db);
    const client = serviceClient(env);
    await svc.store.ensureSubnet(tenant, `10.252.${n}.0/25`);
    const c = await svc.store.createCluster(tenant, "wg-node-test");
    clusterId = c.id;
    const res = await client.reserveEnrollment({ clusterId, publicKey: edgeKeys.publicKey, enrollmentId: "enr-1" }, { tenantId: tenant });
    await client.commitEnrollment({ clusterId, enrollmentId: "enr-1" }, { tenantId: tenant });
    tunnelIp = res.tunnelIp;
    hubIp = res.hubTunnelIp;
    hubPublicKey = res.hubPublicKey;
    config = {
      interface: `dlt${link.ns.slice(4, 10)}h`,
      listenPort: 40000 + Math.floor(Math.random() * 10000),
      backend: "auto",
      resyncMs: 2_000,
      healthIntervalMs: 300,
      probeIntervalMs: 1_000,
      probeTimeoutMs: 1_000,
      maxConcurrentProbes: 8,
      edgeGrpcPort: EDGE_PORT,
      goodbyePort: 0,
      disconnectAfterMs: 10_000,
      alertAfterMs: 16_000,
      nodeName: "test-node",
      nodeId: "test-node",
      nodeEndpoint: "",
      nodeStaleAfterMs: 900,
      rebalancePerSecond: 0,
    };
    env.nc.subscribe(eventSubject(env.prefix, tenant, "cluster.status_changed"), {
      callback: (_e, m) => {
        statusEvents.push(fromBinary(peeringv1.ClusterEventSchema, m.data));
      },
    });
    env.nc.subscribe(eventSubject(env.prefix, tenant, "alert.>"), {
      callback: (_e, m) => {
        alerts.push({ kind: m.subject.split(".").slice(-2).join("."), alert: fromBinary(peeringv1.AlertSchema, m.data) });
      },
    });
    edge = await startAgent(link.ns);
  });

  after(async () => {
    await node?.stop().catch(() => undefined);
    // Close first so wireguard-go removes its socket; then make sure the agent is gone.
    await edge?.close().catch(() => undefined);
    await edge?.kill().catch(() => undefined);
    link?.cleanup();
    await svc?.stop();
    await env?.cleanup();
  });

  const nodeDeps = () => ({ store: svc.store, health, rbac: new RbacReports(svc.store.rbac, logger), nc: svc.nc, prefix: env.prefix, logger, config, guardCidrs, edgeReleases: { current: "0.1.0", minimum: "0.1.0", upgradeCommand: "helm upgrade daalu-edge …" } });

  it("rebuilds the enrolled peer from PostgreSQL on start (awaiting_handshake)", async () => {
    node = new HubNode(nodeDeps());
    await node.start();
    const peers = await node.device.peers();
    assert.deepEqual(
      peers.map((p) => [p.publicKey, p.allowedIps]),
      [[edgeKeys.publicKey, [`${tunnelIp}/32`]]],
    );
    assert.equal(peers[0]!.endpoint, undefined, "the hub never initiates: no endpoint");
    assert.equal((await row()).status, "awaiting_handshake");
  });

  it("awaiting_handshake → connected after the edge handshakes and reports the API reachable", async () => {
    await edge.open(`dlt${link.ns.slice(4, 10)}e`);
    await edge.configure({ privateKey: edgeKeys.privateKey });
    await kickEdge();
    await edge.addAddress(`${tunnelIp}/24`);
    // The hub's address may lie outside the subnet (PEERING_HUB_POOL): route it into the tunnel.
    await edge.addRoute(`${hubIp}/32`);
    await edge.serveEdge(tunnelIp, EDGE_PORT);
    const c = await eventually(
      async () => {
        const r = await row();
        assert.equal(r.status, "connected");
        return r;
      },
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    assert.equal(c.apiReachable, true);
    assert.equal(c.edgeVersion, "test-edge");
    assert.ok(c.lastHandshake && c.lastHandshake.getTime() > Date.now() - 10_000);
    // The probe keeps what the edge reports of its proxy account's RBAC.
    const rbac = await svc.store.rbac.get(clusterId);
    assert.deepEqual(rbac.effectiveRules, [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] }]);
    assert.equal(rbac.effectiveError, "");
    await eventually(() => assert.ok(statusEvents.some((e) => e.clusterId === clusterId && e.cluster?.status === peeringv1.ClusterStatus.CONNECTED), "a CONNECTED status event"));
  });

  it("connected → error with the edge's error as diagnostic; the diagnostics blob explains it", async () => {
    await kickEdge();
    await edge.setEdge({ apiReachable: false, apiError: "Get \"https://10.96.0.1:443/version\": dial tcp 10.96.0.1:443: connect: connection refused" });
    const c = await eventually(
      async () => {
        const r = await row();
        assert.equal(r.status, "error");
        return r;
      },
      { timeoutMs: 8_000, intervalMs: 100 },
    );
    assert.match(c.diagnostic, /connect: connection refused/);
    assert.equal(c.apiReachable, false);

    const hub = natsClient(env.nc, peeringv1.HubNodeService, { prefix: env.prefix, defaults: { caller: { kind: CallerKind.SERVICE, id: "gateway" } } });
    const { diagnostics: d } = await hub.getDiagnostics({ clusterId }, { tenantId: tenant });
    assert.equal(d!.status, peeringv1.ClusterStatus.ERROR);
    assert.equal(d!.peerFingerprint, fingerprint(edgeKeys.publicKey));
    assert.equal(d!.endpoint.split(":")[0], link.nsAddr);
    assert.ok(d!.rxBytes > 0n && d!.txBytes > 0n);
    assert.equal(d!.lastProbe?.ok, false);
    assert.match(d!.lastProbe!.error, /connection refused/);
    assert.ok(d!.lastErrors.some((e) => /connection refused/.test(e.message)));
    await assert.rejects(hub.getDiagnostics({ clusterId }, { tenantId: "someone-else" }), (e: Error & { reason?: string }) => e.reason === "CLUSTER_NOT_FOUND");

    await edge.setEdge({ apiReachable: true, apiError: "" });
    await eventually(async () => assert.equal((await row()).status, "connected"), { timeoutMs: 8_000, intervalMs: 100 });
  });

  it("link down → disconnected, then exactly one critical alert; recovery resolves it", async () => {
    await kickEdge();
    await eventually(async () => assert.equal((await row()).status, "connected"), { timeoutMs: 8_000, intervalMs: 100 });
    const downAt = Date.now();
    link.setLink(false);
    const d = await eventually(
      async () => {
        const r = await row();
        assert.equal(r.status, "disconnected");
        return r;
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    assert.match(d.diagnostic, /no WireGuard handshake or traffic for/);
    assert.ok(Date.now() - downAt < config.disconnectAfterMs + 3_000);
    await eventually(() => assert.equal(alerts.filter((a) => a.kind === "alert.critical").length, 1), { timeoutMs: 20_000, intervalMs: 200 });
    const raised = alerts.find((a) => a.kind === "alert.critical")!.alert;
    assert.equal(raised.clusterId, clusterId);
    assert.equal(raised.severity, peeringv1.AlertSeverity.CRITICAL);
    assert.match(raised.summary, /no WireGuard handshake or traffic for/);
    // Still down for several more sweeps: no second alert.
    await new Promise((r) => setTimeout(r, 2_000));
    assert.equal(alerts.filter((a) => a.kind === "alert.critical").length, 1);
    assert.equal((await health.openAlerts()).get(clusterId)?.id, raised.id);

    link.setLink(true);
    await kickEdge();
    await eventually(() => assert.equal(alerts.filter((a) => a.kind === "alert.resolved").length, 1), { timeoutMs: 20_000, intervalMs: 200 });
    assert.equal(alerts.find((a) => a.kind === "alert.resolved")!.alert.id, raised.id);
    assert.equal((await health.openAlerts()).has(clusterId), false);
    await eventually(async () => assert.equal((await row()).status, "connected"), { timeoutMs: 10_000, intervalMs: 100 });
  });

  it("a restarted hub node rebuilds its peers from the database and the cluster connects again", async () => {
    await node.stop();
    const restartedAt = Date.now();
    node = new HubNode(nodeDeps());
    await node.start();
    const peers = await node.device.peers();
    assert.deepEqual(peers.map((p) => p.publicKey), [edgeKeys.publicKey]);
    assert.equal(peers[0]!.lastHandshakeMs, 0, "a fresh device");
    await kickEdge();
    const hub = natsClient(env.nc, peeringv1.HubNodeService, { prefix: env.prefix, defaults: { caller: { kind: CallerKind.SERVICE, id: "gateway" } } });
    await eventually(
      async () => {
        const [p] = await node.device.peers();
        assert.ok(p!.lastHandshakeMs >= restartedAt - 1000, "a handshake after the restart");
        const { diagnostics: d } = await hub.getDiagnostics({ clusterId }, { tenantId: tenant });
        assert.equal(d!.lastProbe?.ok, true, "probed through the rebuilt tunnel");
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    assert.equal((await row()).status, "connected");
    assert.equal(alerts.filter((a) => a.kind === "alert.critical").length, 1, "a restart raises nothing");
  });

  it("follows cluster events: a new enrollment is a peer within a second, a deletion removes it", async () => {
    const keys = generateKeyPair();
    const c = await svc.store.createCluster(tenant, "second");
    const client = serviceClient(env);
    const res = await client.reserveEnrollment({ clusterId: c.id, publicKey: keys.publicKey, enrollmentId: "enr-2" }, { tenantId: tenant });
    await client.commitEnrollment({ clusterId: c.id, enrollmentId: "enr-2" }, { tenantId: tenant });
    await eventually(async () => assert.ok((await node.device.peers()).some((p) => p.publicKey === keys.publicKey && p.allowedIps[0] === `${res.tunnelIp}/32`), "the peer with its /32"), {
      timeoutMs: 1_000,
      intervalMs: 20,
    });
    await client.deleteCluster({ clusterId: c.id }, { tenantId: tenant });
    await eventually(async () => assert.ok(!(await node.device.peers()).some((p) => p.publicKey === keys.publicKey), "the peer removed"), { timeoutMs: 1_000, intervalMs: 20 });
  });

  it("never replaces a route of the hub host: the conflict is logged, shown in the diagnostics, and the host route survives", async () => {
    const n = guardCidrs[0]!.split(".")[2];
    const hostDev = `v${link.ns.slice(4, 10)}r`;
    const hostRoute = `10.252.${n}.192/26`;
    const routeOf = (cidr: string) => sh(["ip", "-4", "route", "show", "exact", cidr]).out.trim();
    // A network of the hub host inside the tenant pool (the root-namespace end of the test's veth).
    sh(["ip", "route", "add", hostRoute, "dev", hostDev]);
    const other = `t2-${tenant}`;
    await svc.store.ensureSubnet(other, `10.252.${n}.128/25`);
    const c = await svc.store.createCluster(other, "shadowing");
    const client = serviceClient(env);
    await client.reserveEnrollment({ clusterId: c.id, publicKey: generateKeyPair().publicKey, enrollmentId: "enr-3" }, { tenantId: other });
    await client.commitEnrollment({ clusterId: c.id, enrollmentId: "enr-3" }, { tenantId: other });
    const hub = natsClient(env.nc, peeringv1.HubNodeService, { prefix: env.prefix, defaults: { caller: { kind: CallerKind.SERVICE, id: "gateway" } } });
    await eventually(
      async () => {
        const { diagnostics: d } = await hub.getDiagnostics({ clusterId: c.id }, { tenantId: other });
        assert.ok(d!.lastErrors.some((e) => e.message.includes(`route 10.252.${n}.128/25 not installed`) && e.message.includes(hostRoute)), d!.lastErrors.map((e) => e.message).join(" | "));
      },
      { timeoutMs: 5_000, intervalMs: 50 },
    );
    assert.match(routeOf(hostRoute), new RegExp(`dev ${hostDev}`), "the host's route survives");
    assert.equal(routeOf(`10.252.${n}.128/25`), "", "the tenant route is not installed");
    assert.match(routeOf(`10.252.${n}.0/25`), new RegExp(`dev ${config.interface}`), "other tenants keep theirs");
    // Once the host route is gone, the next reconcile installs the tenant's route.
    sh(["ip", "route", "del", hostRoute, "dev", hostDev]);
    await eventually(() => assert.match(routeOf(`10.252.${n}.128/25`), new RegExp(`dev ${config.interface}`)), { timeoutMs: 10_000, intervalMs: 100 });
  });
});

describe("hub WireGuard node (skip reason)", () => {
  it("skips the namespace suite only where this machine cannot run it", () => {
    if (skip) console.log(`# skipped hub node tests: ${skip}`);
    assertSkipMatchesMachine(skip);
  });
});
