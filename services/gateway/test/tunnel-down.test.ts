import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { CallerKind } from "@daalu/proto";
import { peeringClient } from "@daalu/peering";
import { queryClient } from "@daalu/tunnel-proxy";
import { setup, type TestEnv } from "@daalu/testing";
import { startTunnelStack, type TunnelStack } from "../../tunnel-proxy/test/harness.js";
import { queryRoutesPlugin } from "../src/http/queries.js";
import { assertProblem, http, seedTenant, type Res, type Tokens } from "./helpers.js";
import { startK8sGateway, type K8sGateway } from "./k8s-harness.js";

// A cluster the hub knows has no working tunnel (enrolled, but its edge never
// completed a WireGuard handshake; or never enrolled) is refused at once with
// a reason and a message a person can act on, instead of a call that waits
// for the head timeout and answers 504 naming an internal NATS subject.

let env: TestEnv;
let stack: TunnelStack;
let gw: K8sGateway;
let acme: Tokens;
let enrolled: string;
let pending: string;

before(async () => {
  env = await setup();
  acme = await seedTenant(env, "acme");
  stack = await startTunnelStack(env, [{ tenant: "acme", name: "prod" }]);
  const ops = peeringClient(env.nc, { prefix: env.prefix, defaults: { tenantId: "acme", caller: { kind: CallerKind.USER, id: "alice" } } });
  const invite = peeringClient(env.nc, { prefix: env.prefix, defaults: { caller: { kind: CallerKind.SERVICE, id: "invite" } } });
  enrolled = (await ops.createCluster({ name: "staging" })).cluster!.id;
  const publicKey = generateKeyPairSync("x25519").publicKey.export({ format: "der", type: "spki" }).subarray(-32).toString("base64");
  await invite.reserveEnrollment({ clusterId: enrolled, publicKey, enrollmentId: "inv-staging" });
  await invite.commitEnrollment({ clusterId: enrolled, enrollmentId: "inv-staging" });
  pending = (await ops.createCluster({ name: "later" })).cluster!.id;
  gw = await startK8sGateway(env, async ({ app, logger }) => {
    await app.register(queryRoutesPlugin, { queries: queryClient(env.nc, { prefix: env.prefix }), logger });
  });
});
after(async () => {
  await gw?.close();
  await stack?.stop();
  await env?.cleanup();
});

async function timed(f: () => Promise<Res>): Promise<Res & { ms: number }> {
  const t0 = performance.now();
  const r = await f();
  return { ...r, ms: performance.now() - t0 };
}

function assertNoSubjects(r: Res): void {
  assert.doesNotMatch(JSON.stringify(r.body), /daalu\.(tunnel|query|peering)/, "internal subjects must not reach the caller");
}

test("kubectl on an enrolled cluster whose edge never connected: 503 at once, saying why", { timeout: 60_000 }, async () => {
  const r = await timed(() => http(gw.httpUrl, "GET", `/k8s/clusters/${enrolled}/api/v1/pods`, { token: acme.viewer }));
  assert.equal(r.status, 503, JSON.stringify(r.body));
  assert.ok(r.ms < 1_000, `answered after ${Math.round(r.ms)} ms`);
  assert.equal(r.body.kind, "Status");
  assert.equal(r.body.details.causes[0].reason, "TUNNEL_NOT_CONNECTED");
  assert.equal(r.headers.get("daalu-error-reason"), "TUNNEL_NOT_CONNECTED");
  assert.match(r.body.message, /staging/);
  assert.match(r.body.message, /awaiting (its first|a) WireGuard handshake/);
  assert.match(r.body.message, /no handshake yet/);
  assertNoSubjects(r);
});

test("a typed query on that cluster: 503 problem at once, saying why", { timeout: 60_000 }, async () => {
  const r = await timed(() => http(gw.httpUrl, "GET", `/v1/clusters/${enrolled}/queries/nodes`, { token: acme.viewer }));
  assertProblem(r, 503, "TUNNEL_NOT_CONNECTED");
  assert.ok(r.ms < 1_000, `answered after ${Math.round(r.ms)} ms`);
  assert.match(r.body.detail, /staging/);
  assertNoSubjects(r);
});

test("a cluster never enrolled is refused at once too; the connected one still works", { timeout: 60_000 }, async () => {
  const r = await timed(() => http(gw.httpUrl, "GET", `/k8s/clusters/${pending}/api/v1/pods`, { token: acme.viewer }));
  assert.equal(r.status, 503, JSON.stringify(r.body));
  assert.ok(r.ms < 1_000, `answered after ${Math.round(r.ms)} ms`);
  assert.equal(r.body.details.causes[0].reason, "CLUSTER_NOT_CONNECTED");
  assertNoSubjects(r);
  const ok = await http(gw.httpUrl, "GET", `/k8s/clusters/${stack.clusterIds[0]}/api/v1/namespaces`, { token: acme.viewer });
  assert.equal(ok.status, 200);
});
