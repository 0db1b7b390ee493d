import { test } from "node:test";
import assert from "node:assert/strict";
import { Code, DaaluError, sql } from "@daalu/runtime";
import { setup, spawnService } from "@daalu/testing";
import { parseCidr, parseIpv4, containsIp } from "../src/domain/ipv4.js";
import { dbAddresses, newKey, peeringEnv, percentile, serviceClient, startPeering, tenantClient } from "./harness.js";

const TENANT = "acme";

test("400 concurrent enrollments across two instances fill a /24 exactly; widening admits the rest", { timeout: 300_000 }, async (t) => {
  const env = await setup();
  t.after(() => env.cleanup());
  // Two replicas in the queue group "peering": one in-process, one a real process (main.ts).
  const a = await startPeering(env);
  t.after(() => a.stop());
  const b = spawnService("peering", peeringEnv(env, { PEERING_DB_POOL: "10" }));
  t.after(() => b.stop());
  await b.ready;

  const ops = tenantClient(env, TENANT);
  const invite = serviceClient(env);
  await ops.setTenantSubnet({ cidr: "10.100.0.0/24" });
  const ids: string[] = [];
  for (let i = 0; i < 400; i += 50) {
    const batch = await Promise.all(Array.from({ length: 50 }, (_, j) => ops.createCluster({ name: `c-${i + j}` })));
    ids.push(...batch.map((r) => r.cluster!.id));
  }

  const keys = new Map(ids.map((id) => [id, newKey()]));
  const latencies: number[] = [];
  const enroll = async (id: string, enrollmentId: string) => {
    const t0 = performance.now();
    const cfg = await invite.reserveEnrollment({ clusterId: id, publicKey: keys.get(id)!, enrollmentId });
    await invite.commitEnrollment({ clusterId: id, enrollmentId });
    latencies.push(performance.now() - t0);
    return cfg;
  };
  const results = await Promise.allSettled(ids.map((id) => enroll(id, `inv-${id}`)));
  const ok = new Map<string, string>();
  const exhausted: string[] = [];
  results.forEach((r, i) => {
    if (r.status === "fulfilled") ok.set(ids[i]!, r.value.tunnelIp);
    else {
      const e = r.reason as DaaluError;
      assert.equal(e.reason, "SUBNET_EXHAUSTED", `unexpected failure: ${e.reason} ${e.message}`);
      assert.equal(e.code, Code.ResourceExhausted);
      assert.equal(e.httpStatus, 409);
      assert.match(e.message, /10\.100\.0\.0\/24/);
      assert.match(e.message, /widen/);
      exhausted.push(ids[i]!);
    }
  });
  latencies.sort((x, y) => x - y);
  process.stderr.write(`reserve+commit x400 (2 instances): p50=${percentile(latencies, 50).toFixed(0)}ms p99=${percentile(latencies, 99).toFixed(0)}ms max=${latencies.at(-1)!.toFixed(0)}ms\n`);

  // A /24 has 254 hosts, all for clusters: the hub's address comes from the hub pool.
  assert.equal(ok.size, 254);
  assert.equal(exhausted.length, 146);
  assert.equal(new Set(ok.values()).size, 254, "addresses are distinct");
  const subnet = parseCidr("10.100.0.0/24");
  for (const ip of ok.values()) {
    const n = parseIpv4(ip)!;
    assert.ok(containsIp(subnet, n) && ip !== "10.100.0.0" && ip !== "10.100.0.255", ip);
  }
  // The database agrees, and the exhausted attempts left nothing behind.
  const inDb = await dbAddresses(a, TENANT);
  assert.equal(inDb.size, 254);
  for (const [id, ip] of ok) assert.equal(inDb.get(id), ip);
  const pending = await sql<{ n: number }>`select count(*)::int as n from clusters where pending_enrollment_id is not null`.execute(a.db);
  assert.equal(pending.rows[0]!.n, 0);
  const sub = await ops.getTenantSubnet({});
  assert.deepEqual({ cidr: sub.subnet!.cidr, capacity: sub.subnet!.capacity, allocated: sub.subnet!.allocated }, { cidr: "10.100.0.0/24", capacity: 254, allocated: 254 });

  // Widen: the same enrollments now succeed; nobody is renumbered.
  const wideNet0 = parseCidr("10.100.0.0/22");
  const wide = await ops.setTenantSubnet({ cidr: "10.100.0.0/22" });
  assert.equal(wide.subnet!.hubIp, sub.subnet!.hubIp, "the hub keeps its address");
  assert.ok(!containsIp(wideNet0, parseIpv4(wide.subnet!.hubIp)!), "the hub address lies outside the subnet");
  assert.equal(wide.subnet!.capacity, 1022);
  const second = await Promise.all(exhausted.map((id) => enroll(id, `inv-${id}`)));
  const wideNet = parseCidr("10.100.0.0/22");
  const all = new Set([...ok.values(), ...second.map((c) => c.tunnelIp)]);
  assert.equal(all.size, 400, "400 distinct addresses after widening");
  for (const c of second) assert.ok(containsIp(wideNet, parseIpv4(c.tunnelIp)!) && c.subnet === "10.100.0.0/22", c.tunnelIp);
  const after = await dbAddresses(a, TENANT);
  for (const [id, ip] of ok) assert.equal(after.get(id), ip, "old addresses unchanged");
  assert.equal(after.size, 400);
});

test("deleting a cluster returns its address; re-enrolling keeps the address and replaces the key", { timeout: 60_000 }, async (t) => {
  const env = await setup();
  t.after(() => env.cleanup());
  const svc = await startPeering(env);
  t.after(() => svc.stop());
  const ops = tenantClient(env, TENANT);
  const invite = serviceClient(env);

  const events: Array<{ subject: string; data: Uint8Array }> = [];
  const sub = env.nc.subscribe(`${env.prefix}.daalu.events.${TENANT}.cluster.>`, { callback: (_e, m) => void events.push({ subject: m.subject, data: m.data }) });
  t.after(() => sub.unsubscribe());

  const ids: string[] = [];
  for (const name of ["one", "two", "three"]) {
    const id = (await ops.createCluster({ name })).cluster!.id;
    ids.push(id);
    await invite.reserveEnrollment({ clusterId: id, publicKey: newKey(), enrollmentId: `e-${name}` });
    await invite.commitEnrollment({ clusterId: id, enrollmentId: `e-${name}` });
  }
  const two = await ops.getCluster({ clusterId: ids[1]! });
  assert.equal(two.cluster!.tunnelIp, "10.100.0.2");

  const deleted = await ops.deleteCluster({ clusterId: ids[1]! });
  assert.equal(deleted.cluster!.tunnelIp, "10.100.0.2");
  await assert.rejects(ops.getCluster({ clusterId: ids[1]! }), (e: DaaluError) => e.code === Code.NotFound);
  assert.equal((await ops.getTenantSubnet({})).subnet!.allocated, 2);

  const four = (await ops.createCluster({ name: "four" })).cluster!.id;
  const cfg = await invite.reserveEnrollment({ clusterId: four, publicKey: newKey(), enrollmentId: "e-four" });
  assert.equal(cfg.tunnelIp, "10.100.0.2", "the freed address is reused");
  await invite.commitEnrollment({ clusterId: four, enrollmentId: "e-four" });

  // Re-enroll "one" with a new invite and key.
  const before = (await ops.getCluster({ clusterId: ids[0]! })).cluster!;
  const k2 = newKey();
  const re = await invite.reserveEnrollment({ clusterId: ids[0]!, publicKey: k2, enrollmentId: "e-one-again" });
  assert.equal(re.tunnelIp, before.tunnelIp);
  // Until commit the old key stays the peer.
  assert.equal((await ops.getCluster({ clusterId: ids[0]! })).cluster!.publicKey, before.publicKey);
  const committed = await invite.commitEnrollment({ clusterId: ids[0]!, enrollmentId: "e-one-again" });
  assert.equal(committed.cluster!.publicKey, k2);
  assert.equal(committed.cluster!.tunnelIp, before.tunnelIp);
  // Replaying the old invite can never bring the old key back.
  await assert.rejects(invite.reserveEnrollment({ clusterId: ids[0]!, publicKey: before.publicKey, enrollmentId: "e-one" }), (e: DaaluError) => e.reason === "ENROLLMENT_KEY_MISMATCH" || e.reason === "ENROLLMENT_NOT_PENDING");

  const { peeringv1 } = await import("@daalu/proto");
  const { fromBinary } = await import("@bufbuild/protobuf");
  const { eventually } = await import("@daalu/testing");
  await eventually(() => {
    const kinds = events.map((e) => e.subject.split(".").slice(-2).join("."));
    assert.deepEqual(kinds.filter((k) => k === "cluster.enrolled").length, 4);
    assert.ok(kinds.includes("cluster.deleted") && kinds.includes("cluster.key_replaced"));
  });
  const replaced = events.map((e) => fromBinary(peeringv1.ClusterEventSchema, e.data)).find((e) => e.kind === peeringv1.ClusterEventKind.KEY_REPLACED)!;
  assert.equal(replaced.previousPublicKey, before.publicKey);
  assert.equal(replaced.cluster!.publicKey, k2);
  assert.equal(replaced.subnet, "10.100.0.0/24");
  assert.equal(replaced.hubIp, "10.99.0.1");
});

test("lowest-free search stays fast in a /16 holding 60k addresses", { timeout: 120_000 }, async (t) => {
  const env = await setup();
  t.after(() => env.cleanup());
  const svc = await startPeering(env, { PEERING_SUBNET_POOL: "10.64.0.0/16" });
  t.after(() => svc.stop());
  const ops = tenantClient(env, TENANT);
  const invite = serviceClient(env);
  await ops.setTenantSubnet({ cidr: "10.64.0.0/16" });
  // 60,000 enrolled clusters at 10.64.0.1 upwards, with one hole near the top.
  await sql`insert into clusters (id, tenant_id, name, public_key, status)
    select gen_random_uuid(), ${TENANT}, 'bulk-' || g, 'key-' || g, 'connected' from generate_series(1, 60000) g`.execute(svc.db);
  await sql`insert into addresses (ip, tenant_id, cluster_id)
    select '10.64.0.0'::inet + row_number() over (order by name), tenant_id, id from clusters where tenant_id = ${TENANT}`.execute(svc.db);
  await sql`delete from clusters where id = (select cluster_id from addresses where ip = '10.64.234.0')`.execute(svc.db);
  await sql`analyze`.execute(svc.db);
  const id = (await ops.createCluster({ name: "late" })).cluster!.id;
  const t0 = performance.now();
  const cfg = await invite.reserveEnrollment({ clusterId: id, publicKey: newKey(), enrollmentId: "e-late" });
  const ms = performance.now() - t0;
  process.stderr.write(`reserve in a /16 with 60k addresses: ${ms.toFixed(0)}ms\n`);
  assert.equal(cfg.tunnelIp, "10.64.234.0");
  assert.ok(ms < 1000, `reserve took ${ms} ms`);
  const id2 = (await ops.createCluster({ name: "later" })).cluster!.id;
  const cfg2 = await invite.reserveEnrollment({ clusterId: id2, publicKey: newKey(), enrollmentId: "e-later" });
  assert.equal(cfg2.tunnelIp, "10.64.234.97", "after the hole is filled, the next free one follows the last bulk address");
});
