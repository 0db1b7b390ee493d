import { test } from "node:test";
import assert from "node:assert/strict";
import { invitev1 } from "@daalu/proto";
import type { DaaluError } from "@daalu/runtime";
import { eventually } from "@daalu/testing";
import { generateKeyPair } from "@daalu/wireguard";
import { stack } from "./harness.js";

/** Runs `fn` over `items` with at most `limit` in flight. */
async function pool<T, R>(items: T[], limit: number, fn: (x: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]!, i);
    }),
  );
  return out;
}

test("50 concurrent redemptions of one token: exactly one wins; the winner's retry replays the same config", async (t) => {
  const s = await stack(t);
  const created = await s.invites.createInvite({ clusterName: "contended" }, s.as("acme"));
  const keys = Array.from({ length: 50 }, () => generateKeyPair().publicKey);

  const results = await Promise.allSettled(keys.map((publicKey) => s.invites.redeemInvite({ token: created.token, publicKey })));
  const wins = results.flatMap((r, i) => (r.status === "fulfilled" ? [{ key: keys[i]!, cfg: r.value }] : []));
  const losses = results.flatMap((r) => (r.status === "rejected" ? [(r.reason as DaaluError).reason] : []));
  assert.equal(wins.length, 1, `exactly one success, got ${wins.length}`);
  assert.deepEqual([...new Set(losses)], ["TOKEN_ALREADY_USED"]);
  assert.equal(losses.length, 49);

  const [win] = wins;
  // Peering commits the enrollment just after the winner has its configuration.
  await eventually(async () => {
    const { cluster } = await s.peering.getCluster({ clusterId: created.invite!.clusterId }, s.as("acme"));
    assert.equal(cluster!.publicKey, win!.key);
    assert.equal(cluster!.tunnelIp, win!.cfg.tunnelIp);
  });

  // The edge lost the response and retries with the same key: same config, nothing new allocated.
  const replay = await s.invites.redeemInvite({ token: created.token, publicKey: win!.key });
  assert.deepEqual(replay, win!.cfg);
  const { subnet } = await s.peering.getTenantSubnet({}, s.as("acme"));
  assert.equal(subnet!.allocated, 1);
  const { invites } = await s.invites.listInvites({}, s.as("acme"));
  assert.equal(invites[0]!.state, invitev1.InviteState.REDEEMED);
});

function ipToInt(ip: string): number {
  return ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);
}

function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");
}

// Issue 2: a /24 holds 254 clusters (peering takes the hub's address from a separate pool).
test("400 concurrent redemptions into one /24: 254 win, 146 get SUBNET_EXHAUSTED and redeem after widening to /22", async (t) => {
  const s = await stack(t);
  const created = await pool(Array.from({ length: 400 }, (_, i) => i), 25, (i) => s.invites.createInvite({ clusterName: `c-${i}` }, s.as("crowd")));
  const { subnet: before } = await s.peering.getTenantSubnet({}, s.as("crowd"));
  assert.match(before!.cidr, /\/24$/);
  const capacity = 254;
  assert.equal(before!.capacity, capacity);

  const keys = created.map(() => generateKeyPair().publicKey);
  const started = Date.now();
  const results = await Promise.allSettled(created.map((c, i) => s.invites.redeemInvite({ token: c.token, publicKey: keys[i]! })));
  const elapsed = Date.now() - started;
  const ok = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const failedIdx = results.flatMap((r, i) => (r.status === "rejected" ? [i] : []));
  const reasons = failedIdx.map((i) => ((results[i] as PromiseRejectedResult).reason as DaaluError).reason);
  t.diagnostic(`400 redemptions in ${elapsed} ms (${Math.round((400 * 1000) / elapsed)}/s)`);
  assert.equal(ok.length, capacity, `successes: ${ok.length}, failures: ${JSON.stringify([...new Set(reasons)])}`);
  assert.equal(new Set(ok.map((c) => c.tunnelIp)).size, capacity, "distinct addresses");
  assert.equal(failedIdx.length, 400 - capacity);
  assert.deepEqual([...new Set(reasons)], ["SUBNET_EXHAUSTED"]);
  const { subnet: full } = await s.peering.getTenantSubnet({}, s.as("crowd"));
  assert.equal(full!.allocated, capacity);

  // The failed tokens were not burned.
  const { invites } = await s.invites.listInvites({}, s.as("crowd"));
  const byId = new Map(invites.map((i) => [i.id, i.state]));
  for (const i of failedIdx) assert.equal(byId.get(created[i]!.invite!.id), invitev1.InviteState.PENDING);

  // Widen /24 -> /22 in place (no renumbering), then the same tokens redeem.
  const [net] = before!.cidr.split("/");
  const base = ipToInt(net!) & ~0x3ff;
  const wide = `${intToIp(base >>> 0)}/22`;
  await s.peering.setTenantSubnet({ cidr: wide }, s.as("crowd"));
  const retried = await Promise.all(failedIdx.map((i) => s.invites.redeemInvite({ token: created[i]!.token, publicKey: keys[i]! })));
  const all = new Set([...ok, ...retried].map((c) => c.tunnelIp));
  assert.equal(all.size, 400, "all 400 addresses distinct");
  for (const c of retried) assert.equal(c.subnet, wide);
  for (const c of ok) {
    const [, , third] = c.tunnelIp.split(".");
    assert.equal(`${c.tunnelIp.split(".").slice(0, 2).join(".")}.${third}.0/24`, before!.cidr, "the first winners keep their addresses in the original /24");
  }
  const { subnet: after } = await s.peering.getTenantSubnet({}, s.as("crowd"));
  assert.equal(after!.allocated, 400);
});
