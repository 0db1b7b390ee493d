import { test } from "node:test";
import assert from "node:assert/strict";
import { freePort } from "@daalu/runtime";
import { setup } from "@daalu/testing";
import { assertProblem, http, seedTenant } from "./helpers.js";
import { gatewayOidcEnv, startIdp, TestBrowser, type TestIdp } from "./oidc-idp.js";
import { startGatewayAt, TestClock } from "./sign-in-harness.js";

// Single sign-on end to end: the gateway, PostgreSQL and a real OpenID
// provider (oidc-provider) on 127.0.0.1; the browser's hops are followed by hand.

async function harness(t: { after(fn: () => Promise<void>): void }) {
  const env = await setup();
  t.after(() => env.cleanup());
  await seedTenant(env, "acme");
  const port = await freePort();
  const gwUrl = `http://127.0.0.1:${port}`;
  const client = { clientId: "daalu", clientSecret: "a-client-secret-for-tests-only", redirectUri: `${gwUrl}/v1/auth/oidc/callback` };
  const idp = await startIdp(client);
  t.after(() => idp.stop());
  idp.people.set("sub-olivia", { name: "Olivia Ops", username: "olivia", groups: ["staff", "daalu-ops"] });
  idp.people.set("sub-nora", { name: "Nora", username: "nora", groups: ["staff"] });
  const gw = await startGatewayAt(env, new TestClock(Date.now()), {
    GATEWAY_LISTEN: `127.0.0.1:${port}`,
    ...gatewayOidcEnv(idp, client),
  });
  t.after(() => gw.close());
  assert.equal(gw.url, gwUrl);
  return { gw, idp };
}

/** Starts a login at the gateway and lets the IdP sign `sub` in; returns the browser and the gateway's callback answer. */
async function ssoLogin(gwUrl: string, idp: TestIdp, sub: string, returnTo = "/clusters") {
  idp.signInAs = sub;
  const browser = new TestBrowser();
  const start = await browser.get(`${gwUrl}/v1/auth/oidc/login?returnTo=${encodeURIComponent(returnTo)}`);
  assert.equal(start.status, 302);
  const auth = new URL(start.headers.get("location")!);
  assert.equal(auth.origin, idp.issuer);
  // Authorization code with PKCE S256, state and nonce.
  assert.equal(auth.searchParams.get("response_type"), "code");
  assert.equal(auth.searchParams.get("code_challenge_method"), "S256");
  assert.match(auth.searchParams.get("code_challenge") ?? "", /^[A-Za-z0-9_-]{43}$/);
  assert.ok(auth.searchParams.get("state"));
  assert.ok(auth.searchParams.get("nonce"));
  assert.ok(browser.cookie(gwUrl, "daalu_oidc"));
  // Through the IdP until it sends the browser back to the gateway.
  const back = await browser.follow(auth.href, (u) => u.origin === gwUrl);
  assert.equal(new URL(back.url).pathname, "/v1/auth/oidc/callback", `IdP answered ${back.res.status}: ${await back.res.text()}`);
  const callback = await browser.get(back.url);
  return { browser, callback, callbackUrl: back.url };
}

test("an IdP user whose group maps to operator gets an operator session and lands on returnTo", async (t) => {
  const { gw, idp } = await harness(t);
  assert.deepEqual((await http(gw.url, "GET", "/v1/auth/config")).body.oidc, { enabled: true, label: "Sign in with Test IdP" });
  const { browser, callback, callbackUrl } = await ssoLogin(gw.url, idp, "sub-olivia");
  assert.equal(callback.status, 302, await callback.text());
  assert.equal(callback.headers.get("location"), "/clusters");
  const session = browser.cookie(gw.url, "daalu_session");
  assert.ok(session, "no session cookie");
  assert.equal(browser.cookie(gw.url, "daalu_oidc"), undefined, "the login cookie is cleared");
  const me = await http(gw.url, "GET", "/v1/session", { headers: { cookie: `daalu_session=${session}` } });
  assert.equal(me.status, 200);
  assert.equal(me.body.user.username, "olivia");
  assert.equal(me.body.user.displayName, "Olivia Ops");
  assert.equal(me.body.user.role, "operator");
  assert.equal(me.body.user.tenantId, "acme");
  // An operator may not change anything.
  const put = await http(gw.url, "PUT", "/v1/subnet", { json: { cidr: "10.1.0.0/24" }, headers: { cookie: `daalu_session=${session}`, "x-csrf-token": me.body.csrfToken } });
  assertProblem(put, 403, "ADMIN_REQUIRED");
  // The callback cannot be replayed: its login in flight is used up.
  const replay = await fetch(callbackUrl, { redirect: "manual", headers: { cookie: `daalu_oidc=${"A".repeat(43)}` } });
  assert.equal(replay.status, 401);

  // The role follows the IdP's groups on every login; the user stays the same (issuer + subject).
  idp.people.get("sub-olivia")!.groups = ["daalu-admins"];
  const again = await ssoLogin(gw.url, idp, "sub-olivia", "//evil.example/steal");
  assert.equal(again.callback.status, 302);
  // Only same-origin relative paths are honoured.
  assert.equal(again.callback.headers.get("location"), "/");
  const me2 = await http(gw.url, "GET", "/v1/session", { headers: { cookie: `daalu_session=${again.browser.cookie(gw.url, "daalu_session")}` } });
  assert.equal(me2.body.user.role, "admin");
  assert.equal(me2.body.user.id, me.body.user.id);
});

test("an IdP user with no mapped group is refused 403 NO_ROLE_FOR_GROUPS and gets no session", async (t) => {
  const { gw, idp } = await harness(t);
  const { browser, callback } = await ssoLogin(gw.url, idp, "sub-nora");
  const text = await callback.text();
  assert.equal(callback.status, 403, text);
  assert.equal(JSON.parse(text).reason, "NO_ROLE_FOR_GROUPS");
  assert.equal(browser.cookie(gw.url, "daalu_session"), undefined);
  // A callback without a login in flight (no cookie) is refused.
  assertProblem(await http(gw.url, "GET", "/v1/auth/oidc/callback?code=x&state=y"), 401, "OIDC_LOGIN_FAILED");
  // A browser's navigation (Accept: text/html) is sent to the sign-in page with the reason instead.
  const page = await fetch(`${gw.url}/v1/auth/oidc/callback?code=x&state=y`, { redirect: "manual", headers: { accept: "text/html,application/xhtml+xml" } });
  assert.equal(page.status, 302);
  assert.equal(page.headers.get("location"), "/signin?sso_error=OIDC_LOGIN_FAILED");
});

test("without OIDC configured, the SSO routes are 404 OIDC_NOT_CONFIGURED", async (t) => {
  const env = await setup();
  t.after(() => env.cleanup());
  const gw = await startGatewayAt(env, new TestClock());
  t.after(() => gw.close());
  assertProblem(await http(gw.url, "GET", "/v1/auth/oidc/login?returnTo=/"), 404, "OIDC_NOT_CONFIGURED");
  assertProblem(await http(gw.url, "GET", "/v1/auth/oidc/callback"), 404, "OIDC_NOT_CONFIGURED");
});
