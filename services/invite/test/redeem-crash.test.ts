import { test } from "node:test";
import assert from "node:assert/strict";
import { invitev1 } from "@daalu/proto";
import type { DaaluError } from "@daalu/runtime";
import { eventually, type ServiceProcess } from "@daalu/testing";
import { generateKeyPair } from "@daalu/wireguard";
import { FAILPOINT_AFTER_BURN, FAILPOINT_AFTER_RESERVE } from "../src/invites.js";
import { stack, type Stack } from "./harness.js";

/** Redeems against an invite process that dies at a failpoint; returns once it is dead. */
async function redeemIntoCrash(s: Stack, proc: ServiceProcess, token: string, publicKey: string): Promise<void> {
  await assert.rejects(s.invites.redeemInvite({ token, publicKey }, { timeoutMs: 3_000 }), (e: DaaluError) => ["DEADLINE_EXCEEDED", "UNAVAILABLE"].includes(e.reason));
  await eventually(() => assert.equal(proc.child.signalCode, "SIGKILL", "killed by its failpoint"));
}

/**
 * An invite process dies at `failpoint` while redeeming a new cluster's token
 * with a fresh key; a healthy invite is running again when this returns.
 */
async function crashMidRedemption(s: Stack, failpoint: string, name: string) {
  const crashing = await s.spawnInvite({ DAALU_FAILPOINTS: failpoint });
  const created = await s.invites.createInvite({ clusterName: name }, s.as("acme"));
  const key = generateKeyPair().publicKey;
  await redeemIntoCrash(s, crashing, created.token, key);
  await s.startInvite();
  return { created, clusterId: created.invite!.clusterId, key };
}

async function clusterState(s: Stack, clusterId: string) {
  const { cluster } = await s.peering.getCluster({ clusterId }, s.as("acme"));
  const { subnet } = await s.peering.getTenantSubnet({}, s.as("acme"));
  return { tunnelIp: cluster!.tunnelIp, publicKey: cluster!.publicKey, allocated: subnet!.allocated };
}

test("killed after reserving, before burning: the token stays unburned, peering releases the address, the token redeems after restart", async (t) => {
  const s = await stack(t, false);
  const crashing = await s.spawnInvite({ DAALU_FAILPOINTS: FAILPOINT_AFTER_RESERVE });
  const created = await s.invites.createInvite({ clusterName: "crash-a" }, s.as("acme"));
  const clusterId = created.invite!.clusterId;
  const key = generateKeyPair().publicKey;

  await redeemIntoCrash(s, crashing, created.token, key);
  // The address is held (reserved, no key installed) while nobody can say how the
  // redemption ended: with invite down, peering's recovery defers rather than guess.
  assert.deepEqual(await clusterState(s, clusterId), { tunnelIp: "", publicKey: "", allocated: 1 });

  await s.startInvite();
  // Peering's recovery asks GetRedemption (pending) and releases: no address held, no key installed.
  await eventually(async () => assert.deepEqual(await clusterState(s, clusterId), { tunnelIp: "", publicKey: "", allocated: 0 }), { timeoutMs: 30_000, intervalMs: 200 });
  const { invites } = await s.invites.listInvites({}, s.as("acme"));
  assert.equal(invites[0]!.state, invitev1.InviteState.PENDING, "token not burned");

  const cfg = await s.invites.redeemInvite({ token: created.token, publicKey: key });
  assert.equal(cfg.clusterId, clusterId);
  await eventually(async () => assert.deepEqual(await clusterState(s, clusterId), { tunnelIp: cfg.tunnelIp, publicKey: key, allocated: 1 }));
});

test("killed after burning, before committing: peering's recovery commits, and the edge's retry gets its config", async (t) => {
  const s = await stack(t, false);
  const { created, clusterId, key } = await crashMidRedemption(s, FAILPOINT_AFTER_BURN, "crash-b");
  const { invites } = await s.invites.listInvites({}, s.as("acme"));
  assert.equal(invites[0]!.state, invitev1.InviteState.REDEEMED, "token burned");

  // Recovery (GetRedemption -> redeemed with this key) installs the key and keeps the address.
  const recovered = await eventually(
    async () => {
      const st = await clusterState(s, clusterId);
      assert.equal(st.publicKey, key);
      assert.notEqual(st.tunnelIp, "");
      return st;
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  assert.equal(recovered.allocated, 1);

  // The edge never saw a response; it retries with the same key and gets the same address.
  const cfg = await s.invites.redeemInvite({ token: created.token, publicKey: key });
  assert.equal(cfg.tunnelIp, recovered.tunnelIp);
  assert.equal(cfg.clusterId, clusterId);
  await assert.rejects(s.invites.redeemInvite({ token: created.token, publicKey: generateKeyPair().publicKey }), (e: DaaluError) => e.reason === "TOKEN_ALREADY_USED");
  assert.deepEqual(await clusterState(s, clusterId), recovered);
});

test("a re-enrollment that finds the previous enrollment uncommitted settles it first, then enrolls", async (t) => {
  // No recovery sweep within the test: only the new enrollment can settle the old one.
  const s = await stack(t, false, { PEERING_PENDING_TIMEOUT: "10m" });
  const { clusterId } = await crashMidRedemption(s, FAILPOINT_AFTER_BURN, "crash-c");
  // Burned, but the commit never left: the first key is pending, not installed.
  assert.equal((await clusterState(s, clusterId)).publicKey, "");

  const again = await s.invites.createInvite({ clusterId }, s.as("acme"));
  const k2 = generateKeyPair().publicKey;
  const cfg = await s.invites.redeemInvite({ token: again.token, publicKey: k2 });
  assert.equal(cfg.clusterId, clusterId);
  const st = await eventually(async () => {
    const x = await clusterState(s, clusterId);
    assert.equal(x.publicKey, k2);
    return x;
  });
  assert.deepEqual(st, { tunnelIp: cfg.tunnelIp, publicKey: k2, allocated: 1 });
  const { invites } = await s.invites.listInvites({ clusterId }, s.as("acme"));
  assert.deepEqual(
    invites.map((i) => i.state),
    [invitev1.InviteState.REDEEMED, invitev1.InviteState.REDEEMED],
  );
});
