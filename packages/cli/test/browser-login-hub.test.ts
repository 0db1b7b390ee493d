import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ensureUser, openGatewayStore } from "@daalu/gateway";
import type { Stack } from "@daalu/stack";
import { setup, type TestEnv } from "@daalu/testing";
import { startHub } from "./hub.js";
import { buildBin, daalu, startBrowserLogin } from "./run-cli.js";

// `daalu login` in the browser against the real gateway: a person signed in
// (POST /v1/session, the browser's cookie) follows the URL the CLI prints;
// the gateway redirects to the CLI's loopback callback with a code, which the
// CLI swaps with its PKCE verifier for an API token of that person's role.

let env: TestEnv;
let hub: Stack;
let dir: string;
let password: string;

before(async () => {
  buildBin();
  env = await setup();
  dir = mkdtempSync(path.join(tmpdir(), "daalu-login-hub-"));
  hub = await startHub(env, ["peering", "invite", "gateway"]);
  const store = await openGatewayStore(env.databaseUrl);
  try {
    password = (await ensureUser(store, "acme", "oscar", "operator"))!;
  } finally {
    await store.close();
  }
});

after(async () => {
  await hub?.stop();
  await env?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("browser login against the gateway: the signed-in person's token, role and tenant are saved and work", async () => {
  const signIn = await fetch(`${hub.gatewayUrl}/v1/session`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ tenant: "acme", username: "oscar", password }) });
  assert.equal(signIn.status, 200, await signIn.clone().text());
  const cookie = signIn.headers.getSetCookie().map((c) => c.split(";")[0]!).find((c) => c.startsWith("daalu_session="));
  assert.ok(cookie, "a session cookie");

  const config = path.join(dir, "config.json");
  const login = startBrowserLogin(hub.gatewayUrl, config, ["--timeout", "60s"]);
  const url = await login.url;

  // The browser, signed in: the gateway answers with the redirect to the CLI.
  const authorize = await fetch(url, { redirect: "manual", headers: { cookie } });
  assert.equal(authorize.status, 302, await authorize.clone().text());
  const callback = new URL(authorize.headers.get("location")!);
  assert.equal(callback.hostname, "127.0.0.1");
  const page = await fetch(callback);
  assert.equal(page.status, 200);

  const done = await login.run;
  assert.equal(done.code, 0, done.stderr);
  assert.equal(statSync(config).mode & 0o777, 0o600);
  const saved = JSON.parse(readFileSync(config, "utf8")) as Record<string, string>;
  assert.equal(saved["hub"], hub.gatewayUrl);
  assert.equal(saved["tenant"], "acme");
  assert.equal(saved["username"], "oscar");
  assert.equal(saved["role"], "operator");
  assert.match(saved["token"]!, /^dak1_/);

  const me = await daalu(["whoami", "-o", "json"], { env: { DAALU_CONFIG: config } });
  assert.equal(me.code, 0, me.stderr);
  assert.deepEqual(JSON.parse(me.stdout), { hub: hub.gatewayUrl, tenant: "acme", username: "oscar", role: "operator", tokenFrom: "file" });
  // The token is oscar's operator token: it reads, and an admin action is refused.
  assert.equal((await daalu(["clusters", "ls"], { env: { DAALU_CONFIG: config } })).code, 0);
  const add = await daalu(["clusters", "add", "x-1"], { env: { DAALU_CONFIG: config } });
  assert.equal(add.code, 4, add.stderr);
  assert.match(add.stderr, /ADMIN_REQUIRED/);
});
