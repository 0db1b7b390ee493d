import { test } from "node:test";
import assert from "node:assert/strict";
import { CallerKind, invitev1 } from "@daalu/proto";
import { Code, DaaluError, serveNats, sql, type MethodsOf, type ServiceImpl } from "@daalu/runtime";
import { eventually, setup } from "@daalu/testing";
import { LOW_ORDER_PUBLIC_KEYS as LOW_ORDER_KEYS } from "@daalu/wireguard";
import { dbAddresses, logger, newKey, serviceClient, startPeering, tenantClient } from "./harness.js";

test("low-order keys and the hub's own key are refused before anything changes", { timeout: 60_000 }, async (t) => {
  const env = await setup();
  t.after(() => env.cleanup());
  const svc = await startPeering(env);
  t.after(() => svc.stop());
  const id = (await tenantClient(env, "acme").createCluster({ name: "edge" })).cluster!.id;
  const inv = serviceClient(env);
  const invalidKey = (e: DaaluError) => e.code === Code.InvalidArgument && e.reason === "INVALID_PUBLIC_KEY";
  for (const [i, publicKey] of [...LOW_ORDER_KEYS, svc.hub.publicKey].entries()) {
    await assert.rejects(inv.reserveEnrollment({ clusterId: id, publicKey, enrollmentId: `bad-${i}` }), invalidKey, publicKey);
  }
  await assert.rejects(inv.reserveEnrollment({ clusterId: id, publicKey: svc.hub.publicKey, enrollmentId: "hub" }), (e: DaaluError) => invalidKey(e) && /hub's own key/.test(e.message));
  assert.equal((await dbAddresses(svc, "acme")).size, 0, "no address allocated");
  const row = await svc.store.getCluster(id);
  assert.deepEqual([row.pendingEnrollmentId, row.publicKey], [null, null], "nothing pending, no key");
  // The cluster still enrolls with a real key.
  await inv.reserveEnrollment({ clusterId: id, publicKey: newKey(), enrollmentId: "good" });
});

test("reserve/commit/release: idempotent replays, release frees a new address, bad input refused", { timeout: 60_000 }, async (t) => {
  const env = await setup();
  t.after(() => env.cleanup());
  const svc = await startPeering(env);
  t.after(() => svc.stop());
  const ops = tenantClient(env, "acme");
  const inv = serviceClient(env);
  const id = (await ops.createCluster({ name: "edge" })).cluster!.id;
  const k = newKey();

  await assert.rejects(inv.reserveEnrollment({ clusterId: id, publicKey: "not-a-key", enrollmentId: "e1" }), (e: DaaluError) => e.code === Code.InvalidArgument && e.reason === "INVALID_PUBLIC_KEY");
  await assert.rejects(inv.reserveEnrollment({ clusterId: "00000000-0000-4000-8000-000000000000", publicKey: k, enrollmentId: "e1" }), (e: DaaluError) => e.reason === "CLUSTER_NOT_FOUND");

  const r1 = await inv.reserveEnrollment({ clusterId: id, publicKey: k, enrollmentId: "e1" });
  // The first cluster gets the subnet's first host; the hub's address comes from the hub pool.
  assert.equal(r1.tunnelIp, "10.100.0.1");
  assert.equal(r1.hubTunnelIp, "10.99.0.1");
  assert.equal(r1.subnet, "10.100.0.0/24");
  assert.equal(r1.hubPublicKey, svc.hub.publicKey);
  assert.equal(r1.hubEndpoint, "127.0.0.1:51820");
  assert.equal(r1.keepaliveSeconds, 25);
  assert.equal(r1.clusterName, "edge");
  assert.deepEqual(await inv.reserveEnrollment({ clusterId: id, publicKey: k, enrollmentId: "e1" }), r1, "replay returns the same config");
  await assert.rejects(inv.reserveEnrollment({ clusterId: id, publicKey: newKey(), enrollmentId: "e2" }), (e: DaaluError) => e.reason === "ENROLLMENT_IN_PROGRESS");
  // Pending: the key is not yet the cluster's, the address is held.
  assert.equal((await ops.getCluster({ clusterId: id })).cluster!.publicKey, "");
  assert.equal((await dbAddresses(svc, "acme")).get(id), "10.100.0.1");

  await inv.releaseEnrollment({ clusterId: id, enrollmentId: "e1" });
  await inv.releaseEnrollment({ clusterId: id, enrollmentId: "e1" });
  assert.equal((await dbAddresses(svc, "acme")).size, 0, "release returned the new address");
  await assert.rejects(inv.commitEnrollment({ clusterId: id, enrollmentId: "e1" }), (e: DaaluError) => e.reason === "ENROLLMENT_NOT_PENDING");

  await inv.reserveEnrollment({ clusterId: id, publicKey: k, enrollmentId: "e3" });
  const c1 = await inv.commitEnrollment({ clusterId: id, enrollmentId: "e3" });
  const c2 = await inv.commitEnrollment({ clusterId: id, enrollmentId: "e3" });
  assert.deepEqual(c2, c1, "commit replay returns the row");
  assert.equal(c1.cluster!.publicKey, k);
  assert.equal(c1.cluster!.status, 2 /* AWAITING_HANDSHAKE */);
  assert.deepEqual(await inv.reserveEnrollment({ clusterId: id, publicKey: k, enrollmentId: "e3" }), r1, "replay after commit returns the same config");
  // Release of a committed enrollment changes nothing.
  await inv.releaseEnrollment({ clusterId: id, enrollmentId: "e3" });
  assert.equal((await ops.getCluster({ clusterId: id })).cluster!.tunnelIp, "10.100.0.1");

  // A re-enrollment that is released keeps the address (it was not new).
  await inv.reserveEnrollment({ clusterId: id, publicKey: newKey(), enrollmentId: "e4" });
  await inv.releaseEnrollment({ clusterId: id, enrollmentId: "e4" });
  const after = (await ops.getCluster({ clusterId: id })).cluster!;
  assert.equal(after.tunnelIp, "10.100.0.1");
  assert.equal(after.publicKey, k);

  // A key already used by another cluster is refused.
  const other = (await ops.createCluster({ name: "other" })).cluster!.id;
  await assert.rejects(inv.reserveEnrollment({ clusterId: other, publicKey: k, enrollmentId: "e5" }), (e: DaaluError) => e.code === Code.AlreadyExists && e.reason === "PUBLIC_KEY_IN_USE");
  assert.equal((await dbAddresses(svc, "acme")).size, 1);

  // The store surface of the hub's WireGuard node.
  const peers = await svc.store.listPeers();
  assert.deepEqual(peers, [{ clusterId: id, tenantId: "acme", publicKey: k, tunnelIp: "10.100.0.1", subnet: "10.100.0.0/24", hubIp: "10.99.0.1" }]);
  assert.deepEqual(await svc.store.listSubnets(), [{ tenantId: "acme", cidr: "10.100.0.0/24", hubIp: "10.99.0.1" }]);
  const h = await svc.store.updateHealth(id, { status: "connected", lastHandshake: new Date(), edgeVersion: "0.1.0", apiReachable: true });
  assert.equal(h!.previousStatus, "awaiting_handshake");
  assert.equal((await ops.getCluster({ clusterId: id })).cluster!.status, 3 /* CONNECTED */);
  assert.equal(await svc.store.hubPrivateKey(), (await svc.store.hubIdentity()).privateKey);
});

type InviteMethods = MethodsOf<typeof invitev1.InviteService>;

test("recovery sweep commits redeemed reservations and releases the rest", { timeout: 60_000 }, async (t) => {
  const env = await setup();
  t.after(() => env.cleanup());
  // A tiny stand-in for the invite service's GetRedemption (the real one is built in parallel).
  const redemptions = new Map<string, { state: invitev1.InviteState; publicKey: string }>();
  let available = false;
  const unimplemented = async () => {
    throw new DaaluError(Code.Unimplemented, "not in this fake");
  };
  const fake: ServiceImpl<InviteMethods> = {
    createInvite: unimplemented,
    listInvites: unimplemented,
    revokeInvite: unimplemented,
    regenerateInvite: unimplemented,
    redeemInvite: unimplemented,
    async getRedemption(req, ctx) {
      assert.equal(ctx.caller.kind, CallerKind.SERVICE);
      if (!available) throw new DaaluError(Code.Unavailable, "down");
      const r = redemptions.get(req.inviteId);
      if (!r) throw new DaaluError(Code.NotFound, "no such invite");
      return r;
    },
  };
  const fakeServer = await serveNats(env.nc, invitev1.InviteService, fake, { prefix: env.prefix, queue: "invite", logger });
  t.after(() => fakeServer.drain());

  const svc = await startPeering(env, { PEERING_PENDING_TIMEOUT: "300ms", PEERING_RECOVERY_INTERVAL: "100ms" });
  t.after(() => svc.stop());
  const ops = tenantClient(env, "acme");
  const inv = serviceClient(env);
  const ids = await Promise.all(["redeemed", "pending", "gone", "other-key"].map(async (name) => (await ops.createCluster({ name })).cluster!.id));
  const keys = ids.map(() => newKey());
  for (let i = 0; i < ids.length; i++) await inv.reserveEnrollment({ clusterId: ids[i]!, publicKey: keys[i]!, enrollmentId: `inv-${i}` });
  redemptions.set("inv-0", { state: invitev1.InviteState.REDEEMED, publicKey: keys[0]! });
  redemptions.set("inv-1", { state: invitev1.InviteState.PENDING, publicKey: "" });
  redemptions.set("inv-3", { state: invitev1.InviteState.REDEEMED, publicKey: newKey() });

  // While the invite service is unavailable, nothing changes.
  await new Promise((r) => setTimeout(r, 800));
  assert.equal((await dbAddresses(svc, "acme")).size, 4);
  const pending = await sql<{ n: number }>`select count(*)::int as n from clusters where pending_enrollment_id is not null`.execute(svc.db);
  assert.equal(pending.rows[0]!.n, 4);

  available = true;
  await eventually(async () => {
    const left = await sql<{ n: number }>`select count(*)::int as n from clusters where pending_enrollment_id is not null`.execute(svc.db);
    assert.equal(left.rows[0]!.n, 0);
  });
  const redeemed = (await ops.getCluster({ clusterId: ids[0]! })).cluster!;
  assert.equal(redeemed.publicKey, keys[0]);
  assert.equal(redeemed.tunnelIp, "10.100.0.1");
  const addrs = await dbAddresses(svc, "acme");
  assert.deepEqual([...addrs.keys()], [ids[0]], "unredeemed reservations returned their addresses");
  for (const i of [1, 2, 3]) assert.equal((await ops.getCluster({ clusterId: ids[i]! })).cluster!.publicKey, "");
});
