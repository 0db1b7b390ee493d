/**
 * The kubeconfig the web app's "Download kubeconfig" fetches (with the
 * session cookie) names the gateway's public URL, GATEWAY_PUBLIC_URL: kubectl
 * sends a token only to an https server, so the hub says that URL on
 * GET /v1/auth/config and the app offers the download only when it is https.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import { setup } from "@daalu/testing";
import { createUser, openGatewayStore } from "../src/admin.js";
import { http, seedTenant, startStack } from "./helpers.js";
import { PASSWORD, signIn } from "./sign-in-harness.js";

test("the web app's kubeconfig download names the public https URL (GATEWAY_PUBLIC_URL) the hub announces", { timeout: 60_000 }, async (t) => {
  const env = await setup();
  t.after(() => env.cleanup());
  const tokens = await seedTenant(env, "acme");
  const store = await openGatewayStore(env.databaseUrl);
  try {
    await createUser(store, "acme", "oscar", { role: "operator", password: PASSWORD });
  } finally {
    await store.close();
  }
  // Behind a TLS ingress: the gateway itself speaks http, its public address is https (a trailing slash is dropped).
  const { gw, stop } = await startStack(env, { gateway: { GATEWAY_PUBLIC_URL: "https://hub.example.test/" } });
  t.after(stop);
  const created = await http(gw.url, "POST", "/v1/clusters", { token: tokens.admin, json: { name: "kc-1" } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.cluster.id as string;

  assert.equal((await http(gw.url, "GET", "/v1/auth/config")).body.publicUrl, "https://hub.example.test");
  const oscar = await signIn(gw.url, "oscar");
  const res = await fetch(`${gw.url}/v1/clusters/${id}/kubeconfig`, { headers: { cookie: oscar.cookie } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-disposition") ?? "", /attachment; filename="daalu-kc-1\.kubeconfig"/);
  const doc = parseYaml(await res.text());
  assert.equal(doc.clusters[0].cluster.server, `https://hub.example.test/k8s/clusters/${id}`);
  // A session has no token to put in the file: the placeholder.
  assert.equal(doc.users[0].user.token, "<paste your Daalu API token>");
});
