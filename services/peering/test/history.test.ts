/**
 * What the operator app reads of a cluster besides its row: the CREATED event
 * (kept in the DAALU_EVENTS stream for resuming live views), the status
 * history written on every transition (bounded per cluster), the alerts and
 * the open-alert count on the row.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { fromBinary } from "@bufbuild/protobuf";
import { jetstreamManager } from "@nats-io/jetstream";
import { peeringv1 } from "@daalu/proto";
import { Code, DaaluError, eventSubject, eventsStreamName, sql } from "@daalu/runtime";
import { eventually, setup } from "@daalu/testing";
import { TRANSITIONS_KEPT } from "../src/adapters/pg/transition-store.js";
import { newKey, serviceClient, startPeering, tenantClient, withCluster } from "./harness.js";

const S = peeringv1.ClusterStatus;

test("creating a cluster publishes CREATED, and the events stream keeps it", { timeout: 60_000 }, async (t) => {
  const env = await setup();
  t.after(() => env.cleanup());
  const svc = await startPeering(env);
  t.after(() => svc.stop());
  const seen: peeringv1.ClusterEvent[] = [];
  const sub = env.nc.subscribe(eventSubject(env.prefix, "acme", "cluster.>"), { callback: (_e, m) => void seen.push(fromBinary(peeringv1.ClusterEventSchema, m.data)) });
  t.after(() => sub.unsubscribe());
  await env.nc.flush();

  const c = (await tenantClient(env, "acme").createCluster({ name: "edge-1" })).cluster!;
  await eventually(() => assert.equal(seen.length, 1));
  assert.equal(seen[0]!.kind, peeringv1.ClusterEventKind.CREATED);
  assert.deepEqual([seen[0]!.clusterId, seen[0]!.tenantId, seen[0]!.cluster?.name, seen[0]!.cluster?.status], [c.id, "acme", "edge-1", S.PENDING_ENROLLMENT]);

  const jsm = await jetstreamManager(env.nc);
  const info = await jsm.streams.info(eventsStreamName(env.prefix));
  assert.equal(info.config.max_age, 60 * 60 * 1e9, "an hour of events");
  await eventually(async () => {
    const m = await jsm.streams.getMessage(eventsStreamName(env.prefix), { last_by_subj: eventSubject(env.prefix, "acme", "cluster.created") });
    assert.equal(fromBinary(peeringv1.ClusterEventSchema, m!.data).clusterId, c.id);
  });
  // A second start (another replica) finds the stream and keeps it.
  const again = await startPeering(env);
  await again.stop();
  assert.equal((await jsm.streams.info(eventsStreamName(env.prefix))).state.messages, info.state.messages);
});

test("every status change is one history row, newest first, bounded per cluster; another tenant sees none", { timeout: 120_000 }, async (t) => {
  const { env, svc, acme, id } = await withCluster(t);
  assert.deepEqual((await acme.listClusterTransitions({ clusterId: id })).transitions, [], "a new row has no history");

  // The enrollment's commit moves it pending -> awaiting handshake; the hub node's health writes do the rest.
  const inv = serviceClient(env);
  await inv.reserveEnrollment({ clusterId: id, publicKey: newKey(), enrollmentId: "e1" });
  await inv.commitEnrollment({ clusterId: id, enrollmentId: "e1" });
  await svc.store.updateHealth(id, { status: "connected", diagnostic: "" });
  await svc.store.updateHealth(id, { diagnostic: "probe slow" }); // no status change: no row
  await svc.store.updateHealth(id, { status: "disconnected", diagnostic: "no WireGuard handshake for 3m" });

  const h = (await acme.listClusterTransitions({ clusterId: id })).transitions;
  assert.deepEqual(
    h.map((x) => [x.from, x.to, x.diagnostic]),
    [
      [S.CONNECTED, S.DISCONNECTED, "no WireGuard handshake for 3m"],
      [S.AWAITING_HANDSHAKE, S.CONNECTED, ""],
      [S.PENDING_ENROLLMENT, S.AWAITING_HANDSHAKE, ""],
    ],
  );
  assert.ok(h[0]!.at && h[2]!.at && h[0]!.at.seconds >= h[2]!.at.seconds);
  assert.equal((await acme.listClusterTransitions({ clusterId: id, limit: 1 })).transitions.length, 1);
  await assert.rejects(tenantClient(env, "globex").listClusterTransitions({ clusterId: id }), (e: DaaluError) => e.code === Code.NotFound);

  // Flapping: only the newest TRANSITIONS_KEPT rows stay.
  for (let i = 0; i < TRANSITIONS_KEPT + 10; i++) await svc.store.updateHealth(id, { status: i % 2 === 0 ? "connected" : "error", diagnostic: `flap ${i}` });
  const n = await sql<{ n: number }>`select count(*)::int as n from cluster_transitions where cluster_id = ${id}::uuid`.execute(svc.db);
  assert.equal(n.rows[0]!.n, TRANSITIONS_KEPT);
  const newest = (await acme.listClusterTransitions({ clusterId: id, limit: 500 })).transitions;
  assert.equal(newest.length, TRANSITIONS_KEPT);
  assert.equal(newest[0]!.diagnostic, `flap ${TRANSITIONS_KEPT + 9}`);

  // The history goes with the cluster.
  await acme.deleteCluster({ clusterId: id });
  const left = await sql<{ n: number }>`select count(*)::int as n from cluster_transitions`.execute(svc.db);
  assert.equal(left.rows[0]!.n, 0);
});

test("alerts, open and resolved, newest first; the row counts the open one", { timeout: 60_000 }, async (t) => {
  const { env, svc, acme, id } = await withCluster(t);
  const raisedAt = new Date(Date.now() - 60_000);
  const first = await svc.store.health.raiseAlert({ tenantId: "acme", clusterId: id, summary: "no WireGuard handshake for 15m", diagnostic: "d1", raisedAt });
  assert.ok(first);
  assert.equal((await acme.getCluster({ clusterId: id })).cluster!.openAlerts, 1);
  assert.equal((await acme.listClusters({})).clusters[0]!.openAlerts, 1);
  await svc.store.health.resolveAlert(id, new Date(), "handshake again");
  assert.equal((await acme.getCluster({ clusterId: id })).cluster!.openAlerts, 0);
  await svc.store.health.raiseAlert({ tenantId: "acme", clusterId: id, summary: "no WireGuard handshake for 15m", diagnostic: "d2", raisedAt: new Date() });

  const alerts = (await acme.listClusterAlerts({ clusterId: id })).alerts;
  assert.deepEqual(alerts.map((a) => [a.diagnostic, a.resolvedAt === undefined, a.clusterName, a.severity]), [
    ["d2", true, "edge", peeringv1.AlertSeverity.CRITICAL],
    ["d1", false, "edge", peeringv1.AlertSeverity.CRITICAL],
  ]);
  await assert.rejects(tenantClient(env, "globex").listClusterAlerts({ clusterId: id }), (e: DaaluError) => e.code === Code.NotFound);
});
