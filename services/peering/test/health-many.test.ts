/**
 * updateHealthMany (the hub node's sweep writes what changed for all its clusters in one transaction) against
 * updateHealth, row by row, on real PostgreSQL: the same rows, the same previous status, the same history.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { peeringv1 } from "@daalu/proto";
import type { HealthPatch } from "../src/adapters/pg/store.js";
import { newKey, serviceClient, withCluster } from "./harness.js";

test("updateHealthMany writes each patch as updateHealth would, skips clusters that are gone, records only real transitions", { timeout: 120_000 }, async (t) => {
  const { env, svc, acme, id: first } = await withCluster(t);
  const inv = serviceClient(env);
  const ids = [first];
  for (let i = 1; i < 4; i++) ids.push((await acme.createCluster({ name: `edge-${i}` })).cluster!.id);
  for (const [i, id] of ids.entries()) {
    await inv.reserveEnrollment({ clusterId: id, publicKey: newKey(), enrollmentId: `e${i}` });
    await inv.commitEnrollment({ clusterId: id, enrollmentId: `e${i}` });
  }
  const [a, b, c, d] = ids as [string, string, string, string];
  await svc.store.updateHealth(d, { lastHandshake: new Date("2026-12-01T00:00:00Z") });
  const hs = new Date("2026-12-03T10:00:00.000Z");
  const since = new Date("2026-12-03T10:00:01.000Z");
  const gone = "00000000-0000-4000-8000-000000000000";
  const patches: { clusterId: string; patch: HealthPatch }[] = [
    { clusterId: a, patch: { status: "connected", statusSince: since, lastHandshake: hs, apiReachable: true, edgeVersion: "0.3.1", diagnostic: "" } },
    { clusterId: b, patch: { diagnostic: "probe slow" } }, // no status: no transition, status_since kept
    { clusterId: c, patch: { status: "error" } }, // a status without its time: now()
    { clusterId: d, patch: { lastHandshake: null } }, // cleared explicitly
    { clusterId: gone, patch: { status: "connected" } },
    { clusterId: "not-a-uuid", patch: { status: "connected" } },
  ];
  const rowsBefore = new Map((await Promise.all(ids.map((id) => svc.store.getCluster(id)))).map((r) => [r!.id, r!]));
  const t0 = Date.now();
  const res = await svc.store.updateHealthMany(patches);

  assert.deepEqual([...res.keys()].sort(), [a, b, c, d].sort(), "only clusters that exist come back");
  for (const id of ids) assert.equal(res.get(id)!.previousStatus, "awaiting_handshake");
  const ra = res.get(a)!.cluster;
  assert.deepEqual([ra.status, ra.statusSince.toISOString(), ra.lastHandshake?.toISOString(), ra.apiReachable, ra.edgeVersion, ra.diagnostic], ["connected", since.toISOString(), hs.toISOString(), true, "0.3.1", ""]);
  const rb = res.get(b)!.cluster;
  assert.deepEqual([rb.status, rb.statusSince.getTime(), rb.diagnostic], ["awaiting_handshake", rowsBefore.get(b)!.statusSince.getTime(), "probe slow"]);
  const rc = res.get(c)!.cluster;
  assert.equal(rc.status, "error");
  assert.ok(rc.statusSince.getTime() >= t0 - 1_000, `status_since set to now() (${rc.statusSince.toISOString()})`);
  assert.equal(res.get(d)!.cluster.lastHandshake, null, "an explicit null clears the handshake");
  // What a reader sees afterwards is what came back.
  for (const id of ids) assert.deepEqual(await svc.store.getCluster(id), res.get(id)!.cluster);

  // History: one transition for a and one for c (the trigger fires per row whose status changed), none for b and d.
  const S = peeringv1.ClusterStatus;
  const toOf = async (id: string) => (await acme.listClusterTransitions({ clusterId: id })).transitions.map((x) => x.to);
  assert.deepEqual(await toOf(a), [S.CONNECTED, S.AWAITING_HANDSHAKE]);
  assert.deepEqual(await toOf(b), [S.AWAITING_HANDSHAKE]);
  assert.deepEqual(await toOf(c), [S.ERROR, S.AWAITING_HANDSHAKE]);
  assert.deepEqual(await toOf(d), [S.AWAITING_HANDSHAKE]);

  // Nothing at all, or only ids that are not clusters: no transaction needed, nothing comes back.
  assert.equal((await svc.store.updateHealthMany([])).size, 0);
  assert.equal((await svc.store.updateHealthMany([{ clusterId: gone, patch: { diagnostic: "x" } }])).size, 0);
});
