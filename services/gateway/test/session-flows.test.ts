import { test } from "node:test";
import assert from "node:assert/strict";
import { setup } from "@daalu/testing";
import { createUser, openGatewayStore } from "../src/admin.js";
import { assertProblem, seedTenant, startStack } from "./helpers.js";
import { asBrowser, PASSWORD, signIn } from "./sign-in-harness.js";

// With the real invite and peering services: what a signed-in person does is
// done as that person (the caller the services and audit rows see).

test("a signed-in admin adds a cluster through the session, and the invite names the person", async (t) => {
  const env = await setup();
  t.after(() => env.cleanup());
  await seedTenant(env, "acme");
  const store = await openGatewayStore(env.databaseUrl);
  try {
    await createUser(store, "acme", "alice", { role: "admin", password: PASSWORD });
    await createUser(store, "acme", "victor", { role: "viewer", password: PASSWORD });
  } finally {
    await store.close();
  }
  const stack = await startStack(env);
  t.after(() => stack.stop());
  const base = stack.gw.url;
  const alice = await signIn(base, "alice");
  const created = await asBrowser(base, alice, "POST", "/v1/clusters", { json: { name: "prod-eu-1" } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.invite.createdBy, "user:alice");
  // The viewer reads it through its own session, and may not delete it.
  const victor = await signIn(base, "victor");
  const list = await asBrowser(base, victor, "GET", "/v1/clusters");
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.clusters.map((c: { name: string }) => c.name), ["prod-eu-1"]);
  assertProblem(await asBrowser(base, victor, "DELETE", `/v1/clusters/${created.body.cluster.id}`), 403, "ADMIN_REQUIRED");
  const invites = await asBrowser(base, victor, "GET", "/v1/invites");
  assert.deepEqual(invites.body.invites.map((i: { createdBy: string }) => i.createdBy), ["user:alice"]);
});
