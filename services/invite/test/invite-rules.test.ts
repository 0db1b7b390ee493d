import { test } from "node:test";
import assert from "node:assert/strict";
import { invitev1 } from "@daalu/proto";
import { Code } from "@daalu/runtime";
import { eventually } from "@daalu/testing";
import { generateKeyPair } from "@daalu/wireguard";
import { LOW_ORDER_PUBLIC_KEYS as LOW_ORDER_KEYS } from "@daalu/wireguard";
import { reason, stack, type Stack } from "./harness.js";
import { DEFAULT_INVITE_CHART_VERSION } from "../src/config.js";

const { InviteState } = invitev1;

/** Everything a failed call must leave untouched: the tenant's invites and peering's view. */
async function snapshot(s: Stack, tenant: string, clusterId: string) {
  const { invites } = await s.invites.listInvites({}, s.as(tenant));
  const { cluster } = await s.peering.getCluster({ clusterId }, s.as(tenant));
  const { subnet } = await s.peering.getTenantSubnet({}, s.as(tenant));
  return {
    invites: invites.map((i) => ({ id: i.id, state: i.state, redeemedAt: i.redeemedAt?.seconds, revokedAt: i.revokedAt?.seconds })),
    tunnelIp: cluster?.tunnelIp,
    publicKey: cluster?.publicKey,
    allocated: subnet?.allocated,
  };
}

test("create returns a one-time token and the documented helm command; list never shows it", async (t) => {
  const s = await stack(t, { INVITE_HUB_URL: "https://hub.example.com", INVITE_CHART_REF: "oci://charts.example.com/daalu-edge" });
  const created = await s.invites.createInvite({ clusterName: "prod-eu-1" }, s.as("acme"));
  assert.match(created.token, /^dfi1_[A-Za-z0-9_-]{22}_[A-Za-z0-9_-]{43}$/);
  assert.equal(
    created.helmCommand,
    `helm install daalu-edge oci://charts.example.com/daalu-edge --version ${DEFAULT_INVITE_CHART_VERSION} --namespace daalu-edge --create-namespace --set hub.url=https://hub.example.com --set bootstrap.token=${created.token}`,
  );
  const inv = created.invite!;
  assert.equal(inv.state, InviteState.PENDING);
  assert.equal(inv.clusterName, "prod-eu-1");
  assert.equal(inv.createdBy, "user:admin@acme");
  const ttl = Number(inv.expiresAt!.seconds - inv.createdAt!.seconds);
  assert.ok(ttl >= 3599 && ttl <= 3601, `default TTL is 1 h, got ${ttl}s`);

  const { cluster } = await s.peering.getCluster({ clusterId: inv.clusterId }, s.as("acme"));
  assert.equal(cluster!.name, "prod-eu-1");
  assert.equal(cluster!.tunnelIp, "");

  const { invites } = await s.invites.listInvites({}, s.as("acme"));
  assert.equal(invites.length, 1);
  const wire = JSON.stringify(invites, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v));
  const [, selector, verifier] = /^dfi1_(.{22})_(.{43})$/.exec(created.token)!;
  assert.ok(!wire.includes(selector!) && !wire.includes(verifier!), "list leaks no part of the token");

  // Cluster-name rules are peering's; invite passes its refusal through and leaves nothing behind.
  await assert.rejects(s.invites.createInvite({ clusterName: "Not_A_Label" }, s.as("acme")), (e: { code: Code }) => e.code === Code.InvalidArgument);
  await assert.rejects(s.invites.createInvite({ clusterName: "prod-eu-1" }, s.as("acme")), (e: { code: Code }) => e.code === Code.AlreadyExists);
  assert.equal((await s.invites.listInvites({}, s.as("acme"))).invites.length, 1);
  await assert.rejects(s.invites.createInvite({}, s.as("acme")), reason("INVALID_INVITE_REQUEST", Code.InvalidArgument));
  await assert.rejects(s.invites.createInvite({ clusterName: "x", clusterId: inv.clusterId }, s.as("acme")), reason("INVALID_INVITE_REQUEST"));
  await assert.rejects(s.invites.createInvite({ clusterName: "x" }), reason("TENANT_REQUIRED", Code.Unauthenticated));
});

test("every redeem error has its own code, and none changes any state", async (t) => {
  const s = await stack(t);
  const created = await s.invites.createInvite({ clusterName: "edge-a" }, s.as("acme"));
  const clusterId = created.invite!.clusterId;
  const key = generateKeyPair().publicKey;
  const before = await snapshot(s, "acme", clusterId);
  const [, selector] = /^dfi1_(.{22})_/.exec(created.token)!;
  const wrongVerifier = `dfi1_${selector}_${created.token.endsWith("A") ? "B".repeat(42) + "A" : "A".repeat(43)}`;

  await assert.rejects(s.invites.redeemInvite({ token: "", publicKey: key }), reason("TOKEN_MALFORMED", Code.InvalidArgument, 400));
  await assert.rejects(s.invites.redeemInvite({ token: `${created.token}x`, publicKey: key }), reason("TOKEN_MALFORMED", Code.InvalidArgument, 400));
  await assert.rejects(s.invites.redeemInvite({ token: "x".repeat(10_000), publicKey: key }), reason("TOKEN_MALFORMED"));
  await assert.rejects(s.invites.redeemInvite({ token: `dfi1_${"A".repeat(22)}_${"A".repeat(43)}`, publicKey: key }), reason("TOKEN_UNKNOWN", Code.NotFound, 404));
  await assert.rejects(s.invites.redeemInvite({ token: wrongVerifier, publicKey: key }), reason("TOKEN_UNKNOWN", Code.NotFound, 404));
  for (const bad of ["", "abc", Buffer.alloc(31).toString("base64"), Buffer.alloc(33).toString("base64"), `${key.slice(0, -2)}?=`]) {
    await assert.rejects(s.invites.redeemInvite({ token: created.token, publicKey: bad }), reason("INVALID_PUBLIC_KEY", Code.InvalidArgument, 400));
  }
  assert.deepEqual(await snapshot(s, "acme", clusterId), before);

  // The real thing still works after all that.
  const cfg = await s.invites.redeemInvite({ token: created.token, publicKey: key });
  assert.equal(cfg.tenantId, "acme");
  assert.equal(cfg.clusterId, clusterId);
  assert.equal(cfg.clusterName, "edge-a");
  assert.ok(cfg.tunnelIp && cfg.subnet && cfg.hubTunnelIp && cfg.hubPublicKey && cfg.hubEndpoint);
  await assert.rejects(s.invites.revokeInvite({ inviteId: created.invite!.id }, s.as("acme")), reason("INVITE_NOT_REVOCABLE", Code.FailedPrecondition));

  // Peering commits the enrollment just after the edge has its configuration.
  const used = await eventually(async () => {
    const u = await snapshot(s, "acme", clusterId);
    assert.equal(u.publicKey, key);
    return u;
  });
  assert.equal(used.invites[0]!.state, InviteState.REDEEMED);
  assert.equal(used.tunnelIp, cfg.tunnelIp);
  assert.equal(used.publicKey, key);
  await assert.rejects(s.invites.redeemInvite({ token: created.token, publicKey: generateKeyPair().publicKey }), reason("TOKEN_ALREADY_USED", Code.FailedPrecondition, 409));
  assert.deepEqual(await snapshot(s, "acme", clusterId), used);

  // Revoked.
  const second = await s.invites.createInvite({ clusterName: "edge-b" }, s.as("acme"));
  const revoked = await s.invites.revokeInvite({ inviteId: second.invite!.id }, s.as("acme"));
  assert.equal(revoked.invite!.state, InviteState.REVOKED);
  // Revoking twice is a no-op.
  assert.equal((await s.invites.revokeInvite({ inviteId: second.invite!.id }, s.as("acme"))).invite!.revokedAt!.seconds, revoked.invite!.revokedAt!.seconds);
  const revokedBefore = await snapshot(s, "acme", second.invite!.clusterId);
  await assert.rejects(s.invites.redeemInvite({ token: second.token, publicKey: key }), reason("TOKEN_REVOKED", Code.FailedPrecondition, 410));
  assert.deepEqual(await snapshot(s, "acme", second.invite!.clusterId), revokedBefore);
});

test("a low-order key or the hub's own key is refused and the token stays unburned", async (t) => {
  const s = await stack(t);
  // The hub's public key as any edge learns it: from a redemption.
  const first = await s.invites.createInvite({ clusterName: "edge-a" }, s.as("acme"));
  const hubPublicKey = (await s.invites.redeemInvite({ token: first.token, publicKey: generateKeyPair().publicKey })).hubPublicKey;
  const created = await s.invites.createInvite({ clusterName: "edge-b" }, s.as("acme"));
  const clusterId = created.invite!.clusterId;
  const before = await snapshot(s, "acme", clusterId);
  for (const bad of [...LOW_ORDER_KEYS, hubPublicKey]) {
    await assert.rejects(s.invites.redeemInvite({ token: created.token, publicKey: bad }), reason("INVALID_PUBLIC_KEY", Code.InvalidArgument, 400), bad);
  }
  const after = await snapshot(s, "acme", clusterId);
  assert.deepEqual(after, before, "token not burned, no address allocated");
  assert.equal(after.tunnelIp, "");
  assert.equal(after.invites.find((i) => i.id === created.invite!.id)!.state, InviteState.PENDING);
  // The same token still enrolls a real key.
  const cfg = await s.invites.redeemInvite({ token: created.token, publicKey: generateKeyPair().publicKey });
  assert.equal(cfg.clusterId, clusterId);
});

test("expired tokens are refused, and regenerate follows the rules", async (t) => {
  // The service's clock is the test's: expiry comes from moving it past the TTL, not from waiting.
  let clock = Date.now();
  const s = await stack(t, false);
  await s.startInvite({ INVITE_TTL: "1h" }, { now: () => new Date(clock) });
  const created = await s.invites.createInvite({ clusterName: "short-lived" }, s.as("acme"));
  const clusterId = created.invite!.clusterId;
  const key = generateKeyPair().publicKey;

  // Pending: cannot be regenerated; the message says what to do instead.
  await assert.rejects(s.invites.regenerateInvite({ inviteId: created.invite!.id }, s.as("acme")), (e: { reason: string; message: string }) => e.reason === "INVITE_NOT_REGENERABLE" && /revoke it first, or create a new invite/.test(e.message));

  clock += 60 * 60_000 - 1_000;
  assert.equal((await snapshot(s, "acme", clusterId)).invites[0]!.state, InviteState.PENDING, "still pending a second before the TTL");
  clock += 2_000;
  const before = await snapshot(s, "acme", clusterId);
  assert.equal(before.invites[0]!.state, InviteState.EXPIRED);
  await assert.rejects(s.invites.redeemInvite({ token: created.token, publicKey: key }), (e: { reason: string; httpStatus: number; code: Code; message: string }) =>
    e.reason === "TOKEN_EXPIRED" && e.httpStatus === 410 && e.code === Code.FailedPrecondition && /admin can regenerate/.test(e.message),
  );
  assert.deepEqual(await snapshot(s, "acme", clusterId), before);
  await assert.rejects(s.invites.revokeInvite({ inviteId: created.invite!.id }, s.as("acme")), reason("INVITE_NOT_REVOCABLE"));

  // Expired -> regenerate: same cluster, new token; the old token stays dead.
  const regen = await s.invites.regenerateInvite({ inviteId: created.invite!.id }, s.as("acme"));
  assert.equal(regen.invite!.clusterId, clusterId);
  assert.notEqual(regen.token, created.token);
  assert.ok(regen.helmCommand.endsWith(`--set bootstrap.token=${regen.token}`));
  await assert.rejects(s.invites.redeemInvite({ token: created.token, publicKey: key }), reason("TOKEN_EXPIRED"));
  const cfg = await s.invites.redeemInvite({ token: regen.token, publicKey: key });
  assert.equal(cfg.clusterId, clusterId);

  // Redeemed -> cannot be regenerated.
  await assert.rejects(s.invites.regenerateInvite({ inviteId: regen.invite!.id }, s.as("acme")), (e: { reason: string; message: string }) => e.reason === "INVITE_NOT_REGENERABLE" && /already redeemed/.test(e.message));

  // Revoked -> can be regenerated.
  const other = await s.invites.createInvite({ clusterName: "revoked-one" }, s.as("acme"));
  await s.invites.revokeInvite({ inviteId: other.invite!.id }, s.as("acme"));
  const again = await s.invites.regenerateInvite({ inviteId: other.invite!.id }, s.as("acme"));
  assert.equal(again.invite!.clusterId, other.invite!.clusterId);
  assert.equal(again.invite!.state, InviteState.PENDING);

  await assert.rejects(s.invites.regenerateInvite({ inviteId: "not-a-uuid" }, s.as("acme")), reason("INVALID_INVITE_ID", Code.InvalidArgument));
  await assert.rejects(s.invites.regenerateInvite({ inviteId: "00000000-0000-4000-8000-000000000000" }, s.as("acme")), reason("INVITE_NOT_FOUND", Code.NotFound));
});

test("re-enrolling keeps the address, replaces the key, and revokes older pending invites", async (t) => {
  const s = await stack(t);
  const first = await s.invites.createInvite({ clusterName: "re-enroll" }, s.as("acme"));
  const clusterId = first.invite!.clusterId;
  const k1 = generateKeyPair().publicKey;
  const cfg1 = await s.invites.redeemInvite({ token: first.token, publicKey: k1 });

  const a = await s.invites.createInvite({ clusterId }, s.as("acme"));
  assert.equal(a.invite!.clusterName, "re-enroll");
  const b = await s.invites.createInvite({ clusterId }, s.as("acme"));
  const { invites } = await s.invites.listInvites({ clusterId }, s.as("acme"));
  assert.deepEqual(
    invites.map((i) => [i.id, i.state]),
    [
      [b.invite!.id, InviteState.PENDING],
      [a.invite!.id, InviteState.REVOKED],
      [first.invite!.id, InviteState.REDEEMED],
    ],
  );
  await assert.rejects(s.invites.redeemInvite({ token: a.token, publicKey: generateKeyPair().publicKey }), reason("TOKEN_REVOKED"));
  await assert.rejects(s.invites.createInvite({ clusterId, subnet: "10.200.0.0/24" }, s.as("acme")), reason("INVALID_INVITE_REQUEST"));

  const k2 = generateKeyPair().publicKey;
  const cfg2 = await s.invites.redeemInvite({ token: b.token, publicKey: k2 });
  assert.equal(cfg2.clusterId, clusterId);
  assert.equal(cfg2.tunnelIp, cfg1.tunnelIp);
  const cluster = await eventually(async () => {
    const { cluster: c } = await s.peering.getCluster({ clusterId }, s.as("acme"));
    assert.equal(c!.publicKey, k2);
    return c!;
  });
  assert.equal(cluster.tunnelIp, cfg1.tunnelIp);
  const { subnet } = await s.peering.getTenantSubnet({}, s.as("acme"));
  assert.equal(subnet!.allocated, 1);
});

test("tenants cannot see or touch each other's invites", async (t) => {
  const s = await stack(t);
  const a = await s.invites.createInvite({ clusterName: "shared-name" }, s.as("tenant-a"));
  // The same cluster name is fine in another tenant.
  const b = await s.invites.createInvite({ clusterName: "shared-name" }, s.as("tenant-b"));
  assert.notEqual(a.invite!.clusterId, b.invite!.clusterId);

  assert.deepEqual((await s.invites.listInvites({}, s.as("tenant-b"))).invites.map((i) => i.id), [b.invite!.id]);
  assert.deepEqual((await s.invites.listInvites({ clusterId: a.invite!.clusterId }, s.as("tenant-b"))).invites, []);
  await assert.rejects(s.invites.revokeInvite({ inviteId: a.invite!.id }, s.as("tenant-b")), reason("INVITE_NOT_FOUND", Code.NotFound));
  await s.invites.revokeInvite({ inviteId: a.invite!.id }, s.as("tenant-a"));
  await assert.rejects(s.invites.regenerateInvite({ inviteId: a.invite!.id }, s.as("tenant-b")), reason("INVITE_NOT_FOUND", Code.NotFound));
  await assert.rejects(s.invites.createInvite({ clusterId: a.invite!.clusterId }, s.as("tenant-b")), (e: { code: Code }) => e.code === Code.NotFound);
  await assert.rejects(s.invites.getRedemption({ inviteId: a.invite!.id }, { tenantId: "tenant-b" }), reason("INVITE_NOT_FOUND"));

  // Tenant A's invite is untouched by B's attempts: still revoked, still regenerable by A.
  const [aInv] = (await s.invites.listInvites({}, s.as("tenant-a"))).invites;
  assert.equal(aInv!.state, InviteState.REVOKED);
  const regen = await s.invites.regenerateInvite({ inviteId: a.invite!.id }, s.as("tenant-a"));
  // The token carries its tenant: redeeming B's token enrolls B's cluster only.
  const cfgB = await s.invites.redeemInvite({ token: b.token, publicKey: generateKeyPair().publicKey });
  assert.equal(cfgB.tenantId, "tenant-b");
  assert.equal(cfgB.clusterId, b.invite!.clusterId);
  const cfgA = await s.invites.redeemInvite({ token: regen.token, publicKey: generateKeyPair().publicKey });
  assert.equal(cfgA.tenantId, "tenant-a");
  assert.equal(cfgA.clusterId, a.invite!.clusterId);
});

test("GetRedemption reports state and key for peering's recovery", async (t) => {
  const s = await stack(t);
  const created = await s.invites.createInvite({ clusterName: "recovery" }, s.as("acme"));
  const id = created.invite!.id;
  assert.deepEqual(await s.invites.getRedemption({ inviteId: id }).then((r) => [r.state, r.publicKey]), [InviteState.PENDING, ""]);
  const key = generateKeyPair().publicKey;
  await s.invites.redeemInvite({ token: created.token, publicKey: key });
  assert.deepEqual(await s.invites.getRedemption({ inviteId: id }).then((r) => [r.state, r.publicKey]), [InviteState.REDEEMED, key]);
  await assert.rejects(s.invites.getRedemption({ inviteId: "00000000-0000-4000-8000-000000000000" }), reason("INVITE_NOT_FOUND"));
});
