import { test } from "node:test";
import assert from "node:assert/strict";
import { Code, DaaluError, sql } from "@daalu/runtime";
import { setup } from "@daalu/testing";
import { overlaps, parseCidr } from "../src/domain/ipv4.js";
import { newKey, serviceClient, startPeering, tenantClient } from "./harness.js";

test("tenants are isolated: another tenant's cluster is NOT_FOUND", { timeout: 60_000 }, async (t) => {
  const env = await setup();
  t.after(() => env.cleanup());
  const svc = await startPeering(env);
  t.after(() => svc.stop());
  const a = tenantClient(env, "tenant-a");
  const b = tenantClient(env, "tenant-b");
  const id = (await a.createCluster({ name: "prod" })).cluster!.id;
  const notFound = (e: DaaluError) => e.code === Code.NotFound && e.reason === "CLUSTER_NOT_FOUND";
  await assert.rejects(b.getCluster({ clusterId: id }), notFound);
  await assert.rejects(b.deleteCluster({ clusterId: id }), notFound);
  await assert.rejects(b.getCluster({ clusterId: "not-a-uuid" }), notFound);
  assert.equal((await b.listClusters({})).clusters.length, 0);
  // Same name in another tenant is fine; twice in one tenant is not.
  await b.createCluster({ name: "prod" });
  await assert.rejects(a.createCluster({ name: "prod" }), (e: DaaluError) => e.code === Code.AlreadyExists && e.reason === "CLUSTER_NAME_TAKEN");
  await assert.rejects(a.createCluster({ name: "Bad_Name" }), (e: DaaluError) => e.code === Code.InvalidArgument && e.reason === "INVALID_CLUSTER_NAME");
  assert.equal((await a.getCluster({ clusterId: id })).cluster!.name, "prod");
  // Enrollment calls scoped to a tenant header see only that tenant too.
  const bAsService = serviceClient(env);
  await assert.rejects(bAsService.reserveEnrollment({ clusterId: id, publicKey: newKey(), enrollmentId: "x" }, { tenantId: "tenant-b" }), notFound);
  // Operators cannot call the internal enrollment methods.
  await assert.rejects(a.reserveEnrollment({ clusterId: id, publicKey: newKey(), enrollmentId: "x" }), (e: DaaluError) => e.code === Code.PermissionDenied);
  // No tenant header on a tenant call.
  await assert.rejects(serviceClient(env).listClusters({}), (e: DaaluError) => e.code === Code.Unauthenticated);
});

test("subnets of tenants created concurrently never overlap", { timeout: 60_000 }, async (t) => {
  const env = await setup();
  t.after(() => env.cleanup());
  const one = await startPeering(env);
  t.after(() => one.stop());
  const two = await startPeering(env);
  t.after(() => two.stop());
  const tenants = Array.from({ length: 30 }, (_, i) => `t-${i}`);
  await Promise.all(tenants.map((tn) => tenantClient(env, tn).createCluster({ name: "c" })));
  const rows = await sql<{ cidr: string; hub_ip: string }>`select cidr::text as cidr, host(hub_ip) as hub_ip from tenant_subnets`.execute(one.db);
  assert.equal(rows.rows.length, 30);
  const blocks = rows.rows.map((r) => parseCidr(r.cidr));
  for (let i = 0; i < blocks.length; i++) for (let j = i + 1; j < blocks.length; j++) assert.ok(!overlaps(blocks[i]!, blocks[j]!), `${rows.rows[i]!.cidr} vs ${rows.rows[j]!.cidr}`);
  for (const b of blocks) assert.equal(b.prefix, 24);
  // Each tenant got room to widen to a /22 (the pool is large enough).
  const a0 = await tenantClient(env, tenants[0]!).getTenantSubnet({});
  const wide = `${a0.subnet!.cidr.split("/")[0]}/22`;
  assert.equal((await tenantClient(env, tenants[0]!).setTenantSubnet({ cidr: wide })).subnet!.cidr, wide);
});

test("tenant subnets come only from the tenant pool, parsed strictly", { timeout: 60_000 }, async (t) => {
  const env = await setup();
  t.after(() => env.cleanup());
  const svc = await startPeering(env);
  t.after(() => svc.stop());
  const a = tenantClient(env, "a");
  const reason = (r: string, code = Code.InvalidArgument) => (e: DaaluError) => e.code === code && e.reason === r;
  // Outside the pool (10.100.0.0/14 by default): the hub host's own networks stay out of reach.
  for (const cidr of ["198.51.100.0/24", "203.0.113.0/24", "10.0.0.0/24", "10.104.0.0/24", "10.96.0.0/16"]) {
    await assert.rejects(a.setTenantSubnet({ cidr }), (e: DaaluError) => reason("SUBNET_OUTSIDE_POOL")(e) && e.message.includes("10.100.0.0/14"), cidr);
    await assert.rejects(a.createCluster({ name: "x", subnet: cidr }), reason("SUBNET_OUTSIDE_POOL"), cidr);
  }
  for (const cidr of ["10.100.4.0/24\n", "10.100.4.0/24 ", " 10.100.4.0/24", "10.100.04.0/24", "10.100.4.5/24", "10.100.4.0/33", "10.100.4.0/30", "10.100.4.0/024"]) {
    await assert.rejects(a.setTenantSubnet({ cidr }), reason("INVALID_SUBNET"), JSON.stringify(cidr));
  }
  await assert.rejects(a.getTenantSubnet({}), (e: DaaluError) => e.code === Code.NotFound, "nothing was created");
  assert.equal((await a.setTenantSubnet({ cidr: "10.100.4.0/24" })).subnet!.cidr, "10.100.4.0/24");
});

test("subnet rules: explicit, widen only, no overlap, clear errors", { timeout: 60_000 }, async (t) => {
  const env = await setup();
  t.after(() => env.cleanup());
  const svc = await startPeering(env, { PEERING_SUBNET_POOL: "172.20.0.0/17" });
  t.after(() => svc.stop());
  const a = tenantClient(env, "a");
  const b = tenantClient(env, "b");
  await assert.rejects(a.getTenantSubnet({}), (e: DaaluError) => e.code === Code.NotFound);
  const invalid = (re: RegExp) => (e: DaaluError) => e.code === Code.InvalidArgument && e.reason === "INVALID_SUBNET" && re.test(e.message);
  await assert.rejects(a.createCluster({ name: "x", subnet: "10.1.0.7/24" }), invalid(/10\.1\.0\.0\/24/));
  await assert.rejects(a.setTenantSubnet({ cidr: "10.1.0.0/30" }), invalid(/between \/16 and \/29/));
  await assert.rejects(a.setTenantSubnet({ cidr: "nonsense" }), invalid(/not an IPv4 CIDR/));
  assert.equal((await a.listClusters({})).clusters.length, 0, "refused input changed nothing");

  await a.createCluster({ name: "x", subnet: "172.20.8.0/24" });
  const s = (await a.getTenantSubnet({})).subnet!;
  assert.deepEqual({ cidr: s.cidr, hubIp: s.hubIp, capacity: s.capacity, allocated: s.allocated }, { cidr: "172.20.8.0/24", hubIp: "10.99.0.1", capacity: 254, allocated: 0 });
  await assert.rejects(a.createCluster({ name: "y", subnet: "172.21.0.0/24" }), (e: DaaluError) => e.reason === "SUBNET_ALREADY_SET");
  await assert.rejects(a.setTenantSubnet({ cidr: "172.20.8.0/25" }), (e: DaaluError) => e.code === Code.InvalidArgument && e.reason === "SUBNET_NOT_SUPERNET");
  await assert.rejects(a.setTenantSubnet({ cidr: "172.20.12.0/22" }), (e: DaaluError) => e.reason === "SUBNET_NOT_SUPERNET");
  await assert.rejects(b.setTenantSubnet({ cidr: "10.99.0.0/24" }), (e: DaaluError) => e.code === Code.InvalidArgument && e.reason === "SUBNET_RESERVED" && /hub address pool 10\.99\.0\.0\/16/.test(e.message));
  await b.setTenantSubnet({ cidr: "172.20.10.0/24" });
  assert.equal((await b.getTenantSubnet({})).subnet!.hubIp, "10.99.0.2", "each tenant has its own hub address");
  await assert.rejects(a.setTenantSubnet({ cidr: "172.20.8.0/22" }), (e: DaaluError) => e.code === Code.AlreadyExists && e.reason === "SUBNET_OVERLAP" && e.httpStatus === 409);
  await assert.rejects(tenantClient(env, "c").setTenantSubnet({ cidr: "172.20.0.0/17" }), (e: DaaluError) => e.reason === "SUBNET_OVERLAP");
  await assert.rejects(a.setTenantSubnet({ cidr: "172.20.0.0/16" }), (e: DaaluError) => e.reason === "SUBNET_OUTSIDE_POOL", "a widen leaves the pool");
  // A widen to a supernet whose network differs keeps the hub address.
  const w = (await a.setTenantSubnet({ cidr: "172.20.8.0/23" })).subnet!;
  assert.deepEqual({ cidr: w.cidr, hubIp: w.hubIp, capacity: w.capacity }, { cidr: "172.20.8.0/23", hubIp: "10.99.0.1", capacity: 510 });
});
