import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { initTracing } from "@daalu/runtime";
import { eventually, setup, type TestEnv } from "@daalu/testing";
import type { RunningGateway } from "../src/service.js";
import { http, seedTenant, startStack, type Res, type Tokens } from "./helpers.js";

// Add cluster -> token once -> bootstrap -> errors, roles and tenant isolation,
// through REST against the real invite and peering services.

initTracing({ serviceName: "gateway-test" });

let env: TestEnv;
let gw: RunningGateway;
let stopStack: () => Promise<void>;
let acme: Tokens;
let globex: Tokens;

before(async () => {
  env = await setup();
  acme = await seedTenant(env, "acme");
  globex = await seedTenant(env, "globex");
  const s = await startStack(env);
  gw = s.gw;
  stopStack = s.stop;
});
after(async () => {
  await stopStack?.();
  await env?.cleanup();
});

const wgKey = () => randomBytes(32).toString("base64");

function assertProblem(r: Res, status: number, reason: string): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.match(r.type, /^application\/problem\+json/);
  assert.equal(r.body.reason, reason, JSON.stringify(r.body));
}

async function addCluster(tokens: Tokens, name: string): Promise<{ clusterId: string; inviteId: string; token: string; helm: string }> {
  const r = await http(gw.url, "POST", "/v1/clusters", { token: tokens.admin, json: { name } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { clusterId: r.body.cluster.id, inviteId: r.body.invite.id, token: r.body.token, helm: r.body.helmCommand };
}

test("add cluster shows the token once; later reads never show it", async () => {
  const r = await http(gw.url, "POST", "/v1/clusters", { token: acme.admin, json: { name: "prod" } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.cluster.name, "prod");
  assert.equal(r.body.cluster.status, "pending_enrollment");
  assert.equal(r.body.cluster.tunnelIp, null);
  assert.equal(r.body.invite.state, "pending");
  assert.equal(r.body.invite.clusterId, r.body.cluster.id);
  assert.ok(r.body.token.length > 20);
  assert.ok(r.body.helmCommand.includes(r.body.token), r.body.helmCommand);
  const token: string = r.body.token;
  for (const path of ["/v1/clusters", `/v1/clusters/${r.body.cluster.id}`, "/v1/invites", `/v1/invites?clusterId=${r.body.cluster.id}`]) {
    const g = await http(gw.url, "GET", path, { token: acme.admin });
    assert.equal(g.status, 200, `${path}: ${JSON.stringify(g.body)}`);
    assert.ok(!JSON.stringify(g.body).includes(token), `${path} leaks the token`);
  }
  const list = await http(gw.url, "GET", "/v1/invites", { token: acme.viewer });
  assert.ok(list.body.invites.some((i: { id: string }) => i.id === r.body.invite.id));
  // Same name again is a conflict from the service, mapped to 409.
  const dup = await http(gw.url, "POST", "/v1/clusters", { token: acme.admin, json: { name: "prod" } });
  assert.equal(dup.status, 409, JSON.stringify(dup.body));
  assert.match(dup.type, /problem\+json/);
});

test("bootstrap returns the tunnel configuration and enrolls the cluster", async () => {
  const c = await addCluster(acme, "edge-a");
  const key = wgKey();
  const r = await http(gw.url, "POST", "/v1/bootstrap", { json: { token: c.token, publicKey: key } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.tenantId, "acme");
  assert.equal(r.body.clusterId, c.clusterId);
  assert.equal(r.body.clusterName, "edge-a");
  assert.match(r.body.tunnelIp, /^\d+\.\d+\.\d+\.\d+$/);
  assert.match(r.body.subnet, /^\d+\.\d+\.\d+\.\d+\/\d+$/);
  assert.match(r.body.hubTunnelIp, /^\d+\.\d+\.\d+\.\d+$/);
  assert.equal(Buffer.from(r.body.hubPublicKey, "base64").length, 32);
  assert.ok(r.body.hubEndpoint);
  assert.ok(r.body.keepaliveSeconds > 0);
  // The invite service commits the enrollment one-way, just after answering.
  await eventually(async () => {
    const g = await http(gw.url, "GET", `/v1/clusters/${c.clusterId}`, { token: acme.viewer });
    assert.equal(g.body.cluster.tunnelIp, r.body.tunnelIp);
    assert.equal(g.body.cluster.status, "awaiting_handshake");
    assert.ok(g.body.cluster.enrolledAt);
  });
  const inv = await http(gw.url, "GET", `/v1/invites?clusterId=${c.clusterId}`, { token: acme.viewer });
  assert.equal(inv.body.invites[0].state, "redeemed");
});

test("every bootstrap refusal is a problem with the invite service's reason, and changes nothing", async () => {
  const c = await addCluster(acme, "edge-b");
  assertProblem(await http(gw.url, "POST", "/v1/bootstrap", { json: { token: "not-a-token", publicKey: wgKey() } }), 400, "TOKEN_MALFORMED");
  const unknown = c.token.slice(0, -6) + (c.token.endsWith("AAAAAA") ? "BBBBBB" : "AAAAAA");
  assertProblem(await http(gw.url, "POST", "/v1/bootstrap", { json: { token: unknown, publicKey: wgKey() } }), 404, "TOKEN_UNKNOWN");
  assertProblem(await http(gw.url, "POST", "/v1/bootstrap", { json: { token: c.token, publicKey: "too-short" } }), 400, "INVALID_PUBLIC_KEY");
  // None of that burned the token or allocated an address.
  let g = await http(gw.url, "GET", `/v1/clusters/${c.clusterId}`, { token: acme.admin });
  assert.equal(g.body.cluster.status, "pending_enrollment");
  assert.equal(g.body.cluster.tunnelIp, null);
  const ok = await http(gw.url, "POST", "/v1/bootstrap", { json: { token: c.token, publicKey: wgKey() } });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  const again = await http(gw.url, "POST", "/v1/bootstrap", { json: { token: c.token, publicKey: wgKey() } });
  assertProblem(again, 409, "TOKEN_ALREADY_USED");
  // The enrollment reaches the cluster row one-way just after the answer (see the test above), so poll for it.
  await eventually(async () => {
    g = await http(gw.url, "GET", `/v1/clusters/${c.clusterId}`, { token: acme.admin });
    assert.equal(g.body.cluster.tunnelIp, ok.body.tunnelIp, "the second attempt did not move the address");
  });

  // Revoked: refused with the service's reason; regenerate issues a working token.
  const d = await addCluster(acme, "edge-c");
  const rv = await http(gw.url, "POST", `/v1/invites/${d.inviteId}/revoke`, { token: acme.admin });
  assert.equal(rv.status, 200, JSON.stringify(rv.body));
  assert.equal(rv.body.invite.state, "revoked");
  assertProblem(await http(gw.url, "POST", "/v1/bootstrap", { json: { token: d.token, publicKey: wgKey() } }), 410, "TOKEN_REVOKED");
  const rg = await http(gw.url, "POST", `/v1/invites/${d.inviteId}/regenerate`, { token: acme.admin });
  assert.equal(rg.status, 201, JSON.stringify(rg.body));
  assert.notEqual(rg.body.token, d.token);
  assert.equal((await http(gw.url, "POST", "/v1/bootstrap", { json: { token: rg.body.token, publicKey: wgKey() } })).status, 200);
});

test("viewers read but cannot change; a viewer's refused create leaves nothing behind", async () => {
  const before = await http(gw.url, "GET", "/v1/clusters", { token: acme.viewer });
  assert.equal(before.status, 200);
  assertProblem(await http(gw.url, "POST", "/v1/clusters", { token: acme.viewer, json: { name: "sneaky" } }), 403, "ADMIN_REQUIRED");
  const c = await addCluster(acme, "keep-me");
  assertProblem(await http(gw.url, "DELETE", `/v1/clusters/${c.clusterId}`, { token: acme.viewer }), 403, "ADMIN_REQUIRED");
  const after = await http(gw.url, "GET", "/v1/clusters", { token: acme.viewer });
  const names = after.body.clusters.map((x: { name: string }) => x.name);
  assert.ok(!names.includes("sneaky"));
  assert.ok(names.includes("keep-me"));
});

test("a tenant cannot see or touch another tenant's clusters and invites", async () => {
  const c = await addCluster(acme, "secret-prod");
  const g = await http(gw.url, "GET", `/v1/clusters/${c.clusterId}`, { token: globex.admin });
  assert.equal(g.status, 404, JSON.stringify(g.body));
  assert.match(g.type, /problem\+json/);
  assert.equal((await http(gw.url, "DELETE", `/v1/clusters/${c.clusterId}`, { token: globex.admin })).status, 404);
  assert.equal((await http(gw.url, "POST", `/v1/clusters/${c.clusterId}/invites`, { token: globex.admin })).status, 404);
  assert.equal((await http(gw.url, "POST", `/v1/invites/${c.inviteId}/revoke`, { token: globex.admin })).status, 404);
  const list = await http(gw.url, "GET", "/v1/clusters", { token: globex.admin });
  assert.ok(!JSON.stringify(list.body).includes(c.clusterId));
  const inv = await http(gw.url, "GET", "/v1/invites", { token: globex.admin });
  assert.ok(!JSON.stringify(inv.body).includes(c.inviteId));
  // Still intact for its owner.
  assert.equal((await http(gw.url, "GET", `/v1/clusters/${c.clusterId}`, { token: acme.admin })).status, 200);
});

test("re-enroll keeps the address; delete returns the row and frees it", async () => {
  const c = await addCluster(acme, "reenroll");
  const first = await http(gw.url, "POST", "/v1/bootstrap", { json: { token: c.token, publicKey: wgKey() } });
  assert.equal(first.status, 200);
  const re = await http(gw.url, "POST", `/v1/clusters/${c.clusterId}/invites`, { token: acme.admin });
  assert.equal(re.status, 201, JSON.stringify(re.body));
  assert.equal(re.body.invite.clusterId, c.clusterId);
  const second = await http(gw.url, "POST", "/v1/bootstrap", { json: { token: re.body.token, publicKey: wgKey() } });
  assert.equal(second.status, 200, JSON.stringify(second.body));
  assert.equal(second.body.tunnelIp, first.body.tunnelIp);
  const del = await http(gw.url, "DELETE", `/v1/clusters/${c.clusterId}`, { token: acme.admin });
  assert.equal(del.status, 200, JSON.stringify(del.body));
  assert.equal(del.body.cluster.id, c.clusterId);
  assert.equal((await http(gw.url, "GET", `/v1/clusters/${c.clusterId}`, { token: acme.admin })).status, 404);
});

test("subnet: read, widen, and bad CIDRs refused by the service", async () => {
  const s = await http(gw.url, "GET", "/v1/subnet", { token: acme.viewer });
  assert.equal(s.status, 200, JSON.stringify(s.body));
  const cidr: string = s.body.subnet.cidr;
  const [net, bits] = cidr.split("/") as [string, string];
  const wider = `${net}/${Number(bits) - 1}`;
  const w = await http(gw.url, "PUT", "/v1/subnet", { token: acme.admin, json: { cidr: wider } });
  // New tenants are placed with room to grow (PEERING_SUBNET_GROWTH_BITS), so one bit wider fits.
  assert.equal(w.status, 200, JSON.stringify(w.body));
  assert.equal(w.body.subnet.cidr, wider);
  const narrower = await http(gw.url, "PUT", "/v1/subnet", { token: acme.admin, json: { cidr: cidr } });
  assert.ok(narrower.status >= 400 && narrower.status < 500, `narrowing must be refused: ${JSON.stringify(narrower.body)}`);
  const bad = await http(gw.url, "PUT", "/v1/subnet", { token: acme.admin, json: { cidr: "banana" } });
  assert.equal(bad.status, 400, JSON.stringify(bad.body));
  assert.match(bad.type, /problem\+json/);
  const after = await http(gw.url, "GET", "/v1/subnet", { token: acme.viewer });
  assert.equal(after.body.subnet.cidr, wider);
});

test("hostile bodies to operator routes change nothing in the database", async () => {
  const db = new pg.Client({ connectionString: env.databaseUrl });
  await db.connect();
  try {
    const count = async () => Number((await db.query("select count(*) as n from peering.clusters")).rows[0].n);
    const n0 = await count();
    for (const body of [{ name: "x", extra: true }, { name: 7 }, { name: "y".repeat(10_000) }, ["name"], null]) {
      const r = await http(gw.url, "POST", "/v1/clusters", { token: acme.admin, json: body });
      assert.ok(r.status >= 400 && r.status < 500, `${JSON.stringify(body).slice(0, 40)} -> ${r.status}`);
      assert.match(r.type, /problem\+json/);
    }
    const big = await http(gw.url, "POST", "/v1/clusters", { token: acme.admin, raw: JSON.stringify({ name: "z".repeat(200_000) }), contentType: "application/json" });
    assert.equal(big.status, 413);
    assert.equal(await count(), n0);
  } finally {
    await db.end();
  }
});
