import { test } from "node:test";
import assert from "node:assert/strict";
import { createUser, disableUser, ensureUser, openGatewayStore } from "../src/admin.js";
import { eventually } from "@daalu/testing";
import { CONTENT_SECURITY_POLICY } from "../src/http/security-headers.js";
import { assertProblem, http } from "./helpers.js";
import { asBrowser, PASSWORD, setCookies, signIn, signInHarness } from "./sign-in-harness.js";

// Browser sign-in against a real gateway and PostgreSQL: no invite or peering
// service runs, so a request that passes authentication and authorization on
// /v1/clusters ends in 503 UNAVAILABLE (nothing answers on NATS).

const HOUR = 3_600_000;

test("sign-in sets a HttpOnly, Secure, SameSite=Strict session cookie and returns the user and a CSRF token", async (t) => {
  const { gw, clock } = await signInHarness(t);
  const r = await http(gw.url, "POST", "/v1/session", { json: { tenant: "acme", username: "Alice", password: PASSWORD } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(Object.keys(r.body).sort(), ["csrfToken", "expiresAt", "user"]);
  assert.equal(r.body.user.username, "alice");
  assert.equal(r.body.user.displayName, "Alice Admin");
  assert.equal(r.body.user.role, "admin");
  assert.equal(r.body.user.tenantId, "acme");
  assert.match(r.body.user.id, /^[0-9a-f-]{36}$/);
  assert.match(r.body.csrfToken, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(r.body.expiresAt, new Date(clock.ms + 12 * HOUR).toISOString());
  assert.equal(r.headers.get("cache-control"), "no-store");
  const [c, ...more] = setCookies(r);
  assert.equal(more.length, 0);
  assert.equal(c!.name, "daalu_session");
  assert.match(c!.value ?? "", /^[A-Za-z0-9_-]{43}$/);
  assert.equal(c!.httpOnly, true);
  assert.equal(c!.secure, true);
  assert.equal(c!.sameSite, "strict");
  assert.equal(c!.path, "/");
  // The secret is not the CSRF token.
  assert.notEqual(c!.value, r.body.csrfToken);

  // GET /v1/session: the same session and CSRF token; without the cookie, 401.
  const cookie = `daalu_session=${c!.value}`;
  const again = await http(gw.url, "GET", "/v1/session", { headers: { cookie } });
  assert.equal(again.status, 200);
  assert.deepEqual(again.body, r.body);
  assertProblem(await http(gw.url, "GET", "/v1/session"), 401, "UNAUTHENTICATED");
  // A bearer token is no session.
  assertProblem(await http(gw.url, "GET", "/v1/session", { headers: { cookie: "daalu_session=" + "A".repeat(43) } }), 401, "UNAUTHENTICATED");
});

test("a wrong password and an unknown user get the same answer", async (t) => {
  const { gw } = await signInHarness(t);
  const wrong = await http(gw.url, "POST", "/v1/session", { json: { tenant: "acme", username: "alice", password: "not the password" } });
  const unknown = await http(gw.url, "POST", "/v1/session", { json: { tenant: "acme", username: "mallory", password: PASSWORD } });
  const otherTenant = await http(gw.url, "POST", "/v1/session", { json: { tenant: "nope", username: "alice", password: PASSWORD } });
  for (const r of [wrong, unknown, otherTenant]) {
    assertProblem(r, 401, "INVALID_CREDENTIALS");
    assert.equal(r.body.detail, wrong.body.detail);
    assert.equal(r.headers.getSetCookie().length, 0);
  }
  // Malformed bodies are refused by the schema.
  assertProblem(await http(gw.url, "POST", "/v1/session", { json: { tenant: "acme", username: "alice" } }), 400, "INVALID_REQUEST");
  assertProblem(await http(gw.url, "POST", "/v1/session", { json: { tenant: "acme", username: "alice", password: "x".repeat(2000) } }), 400, "INVALID_REQUEST");
});

test("failed sign-ins are limited per tenant+username and per IP, and the limit refills", async (t) => {
  const { gw, clock } = await signInHarness(t, { GATEWAY_LOGIN_FAILURES_PER_IP: "8" });
  const login = (username: string, password: string) => http(gw.url, "POST", "/v1/session", { json: { tenant: "acme", username, password } });
  for (let i = 0; i < 5; i++) assertProblem(await login("alice", "wrong password"), 401, "INVALID_CREDENTIALS");
  // Locked: even the right password is refused, before any password work.
  assertProblem(await login("alice", PASSWORD), 429, "TOO_MANY_ATTEMPTS");
  // Another user is not locked by alice's failures.
  assert.equal((await login("oscar", PASSWORD)).status, 200);
  // One attempt a minute comes back.
  clock.advance(61_000);
  assert.equal((await login("alice", PASSWORD)).status, 200);
  // Per IP: 8 failures across usernames (none of them locked by itself), then this address is refused for everyone.
  for (let i = 0; i < 8; i++) assertProblem(await login(`nobody${i}`, "wrong password"), 401, "INVALID_CREDENTIALS");
  assertProblem(await login("victor", PASSWORD), 429, "TOO_MANY_ATTEMPTS");
});

test("with a session cookie, changes need the X-CSRF-Token; bearer requests need none", async (t) => {
  const { gw, tokens } = await signInHarness(t);
  const alice = await signIn(gw.url, "alice");
  const create = { json: { name: "prod" } };
  assertProblem(await asBrowser(gw.url, alice, "POST", "/v1/clusters", { ...create, csrf: null }), 403, "CSRF_TOKEN_INVALID");
  assertProblem(await asBrowser(gw.url, alice, "POST", "/v1/clusters", { ...create, csrf: "A".repeat(43) }), 403, "CSRF_TOKEN_INVALID");
  assertProblem(await asBrowser(gw.url, alice, "POST", "/v1/clusters", { ...create, csrf: alice.csrf.slice(0, -1) }), 403, "CSRF_TOKEN_INVALID");
  // Another session's token is no good either.
  const other = await signIn(gw.url, "alice");
  assertProblem(await asBrowser(gw.url, alice, "POST", "/v1/clusters", { ...create, csrf: other.csrf }), 403, "CSRF_TOKEN_INVALID");
  // The right token passes authentication and authorization (503: peering is not running here).
  assertProblem(await asBrowser(gw.url, alice, "POST", "/v1/clusters", create), 503, "UNAVAILABLE");
  // Reads need no CSRF token.
  assertProblem(await asBrowser(gw.url, alice, "GET", "/v1/clusters", { csrf: null }), 503, "UNAVAILABLE");
  // Bearer: no CSRF token, and a stray session cookie does not change that.
  assertProblem(await http(gw.url, "POST", "/v1/clusters", { token: tokens.admin, json: { name: "prod" } }), 503, "UNAVAILABLE");
  assertProblem(await http(gw.url, "POST", "/v1/clusters", { token: tokens.admin, json: { name: "prod" }, headers: { cookie: alice.cookie } }), 503, "UNAVAILABLE");
});

test("a viewer's session is refused on admin routes, an operator's may run kubectl but not change anything", async (t) => {
  const { gw } = await signInHarness(t);
  const victor = await signIn(gw.url, "victor");
  assert.equal(victor.body.user.role, "viewer");
  assertProblem(await asBrowser(gw.url, victor, "POST", "/v1/clusters", { json: { name: "prod" } }), 403, "ADMIN_REQUIRED");
  assertProblem(await asBrowser(gw.url, victor, "PUT", "/v1/subnet", { json: { cidr: "10.1.0.0/24" } }), 403, "ADMIN_REQUIRED");
  const oscar = await signIn(gw.url, "oscar");
  assertProblem(await asBrowser(gw.url, oscar, "DELETE", "/v1/clusters/abc"), 403, "ADMIN_REQUIRED");
  assertProblem(await asBrowser(gw.url, victor, "POST", "/v1/clusters/abc/kubectl", { json: { argv: ["get", "pods"] } }), 403, "OPERATOR_REQUIRED");
});

test("a session ends 12 hours after sign-in however busy it is", async (t) => {
  const { gw, clock } = await signInHarness(t);
  const alice = await signIn(gw.url, "alice");
  for (let h = 0; h < 11; h++) {
    clock.advance(HOUR - 60_000);
    assert.equal((await asBrowser(gw.url, alice, "GET", "/v1/session")).status, 200, `after ${h + 1} h`);
  }
  clock.advance(HOUR);
  assertProblem(await asBrowser(gw.url, alice, "GET", "/v1/session"), 401, "SESSION_EXPIRED");
  assertProblem(await asBrowser(gw.url, alice, "GET", "/v1/clusters"), 401, "SESSION_EXPIRED");
});

test("a session unused for an hour ends; use keeps it alive", async (t) => {
  const { gw, clock } = await signInHarness(t);
  const alice = await signIn(gw.url, "alice");
  clock.advance(50 * 60_000);
  assert.equal((await asBrowser(gw.url, alice, "GET", "/v1/clusters")).status, 503);
  clock.advance(50 * 60_000);
  assert.equal((await asBrowser(gw.url, alice, "GET", "/v1/session")).status, 200);
  clock.advance(60 * 60_000);
  assertProblem(await asBrowser(gw.url, alice, "GET", "/v1/session"), 401, "SESSION_EXPIRED");
  // GATEWAY_SESSION_IDLE_TTL and GATEWAY_SESSION_TTL set both limits.
  const short = await signInHarness(t, { GATEWAY_SESSION_IDLE_TTL: "5m", GATEWAY_SESSION_TTL: "2h" });
  const b = await signIn(short.gw.url, "alice");
  assert.equal(b.body.expiresAt, new Date(short.clock.ms + 2 * HOUR).toISOString());
  short.clock.advance(5 * 60_000);
  assertProblem(await asBrowser(short.gw.url, b, "GET", "/v1/session"), 401, "SESSION_EXPIRED");
});

test("sign-out needs the CSRF token, revokes the session and clears the cookie", async (t) => {
  const { gw } = await signInHarness(t);
  const alice = await signIn(gw.url, "alice");
  const second = await signIn(gw.url, "alice");
  assertProblem(await asBrowser(gw.url, alice, "DELETE", "/v1/session", { csrf: null }), 403, "CSRF_TOKEN_INVALID");
  const out = await asBrowser(gw.url, alice, "DELETE", "/v1/session");
  assert.equal(out.status, 204);
  const [c] = setCookies(out);
  assert.equal(c!.name, "daalu_session");
  assert.equal(c!.value, "");
  assert.equal(c!.maxAge, 0);
  assert.equal(c!.httpOnly, true);
  assertProblem(await asBrowser(gw.url, alice, "GET", "/v1/session"), 401, "SESSION_EXPIRED");
  assertProblem(await asBrowser(gw.url, alice, "GET", "/v1/clusters"), 401, "SESSION_EXPIRED");
  assertProblem(await asBrowser(gw.url, alice, "DELETE", "/v1/session"), 401, "SESSION_EXPIRED");
  // Only that session: the other one lives on.
  assert.equal((await asBrowser(gw.url, second, "GET", "/v1/session")).status, 200);
});

test("every response carries the Content-Security-Policy, nosniff and no-referrer", async (t) => {
  const { gw, tokens } = await signInHarness(t);
  for (const [method, path, token] of [
    ["GET", "/v1/clusters", tokens.viewer],
    ["GET", "/v1/clusters", undefined],
    ["GET", "/healthz", undefined],
    ["GET", "/v2/nothing", undefined],
    ["GET", "/v1/auth/config", undefined],
  ] as const) {
    const r = await http(gw.url, method, path, token ? { token } : {});
    assert.equal(r.headers.get("content-security-policy"), CONTENT_SECURITY_POLICY, `${method} ${path}`);
    assert.doesNotMatch(r.headers.get("content-security-policy")!, /unsafe-inline|unsafe-eval/);
    assert.equal(r.headers.get("x-content-type-options"), "nosniff");
    assert.equal(r.headers.get("referrer-policy"), "no-referrer");
  }
  const cfg = await http(gw.url, "GET", "/v1/auth/config");
  assert.deepEqual(cfg.body.oidc, { enabled: false, label: null });
  // No GATEWAY_PUBLIC_URL and no TLS here: the default, plain http (the web app then offers no kubeconfig).
  assert.match(cfg.body.publicUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
});

test("ensureUser (the devhub's first start) creates the admin once with a generated password that signs in", async (t) => {
  const { env, gw } = await signInHarness(t);
  const store = await openGatewayStore(env.databaseUrl);
  t.after(() => store.close());
  const password = await ensureUser(store, "acme", "admin", "admin");
  assert.match(password ?? "", /^[A-Za-z0-9_-]{24}$/);
  assert.equal(await ensureUser(store, "acme", "admin", "admin"), undefined);
  const admin = await signIn(gw.url, "admin", password);
  assert.equal(admin.body.user.role, "admin");
  // Only the scrypt hash is stored.
  const row = await store.db.selectFrom("users").select("password_hash").where("username", "=", "admin").executeTakeFirstOrThrow();
  assert.match(row.password_hash ?? "", /^\$scrypt\$ln=15,r=8,p=1\$/);
  assert.ok(!row.password_hash!.includes(password!));
  // Usernames and short chosen passwords are checked.
  await assert.rejects(createUser(store, "acme", "Bad Name!", { role: "viewer" }), /username/);
  await assert.rejects(createUser(store, "acme", "bob", { role: "viewer", password: "short" }), /password/);
  await assert.rejects(createUser(store, "acme", "alice", { role: "viewer" }), /taken/);
});

test("ended sessions are deleted by the hourly sweep a sign-in runs", async (t) => {
  const { gw, clock } = await signInHarness(t);
  const alice = await signIn(gw.url, "alice");
  const victor = await signIn(gw.url, "victor");
  assert.equal((await asBrowser(gw.url, alice, "DELETE", "/v1/session")).status, 204);
  const count = async () => (await gw.store.db.selectFrom("sessions").select(gw.store.db.fn.countAll<string>().as("n")).executeTakeFirstOrThrow()).n;
  assert.equal(Number(await count()), 2);
  // Within the hour nothing is swept; after it, alice's revoked session goes and victor's (idle-expired, not yet past its end) stays.
  clock.advance(2 * HOUR);
  await signIn(gw.url, "oscar");
  await eventually(async () => assert.equal(Number(await count()), 2));
  const users = await gw.store.db.selectFrom("sessions").innerJoin("users", "users.id", "sessions.user_id").select("users.username").orderBy("users.username").execute();
  assert.deepEqual(users.map((u) => u.username), ["oscar", "victor"]);
  assertProblem(await asBrowser(gw.url, victor, "GET", "/v1/session"), 401, "SESSION_EXPIRED");
});

test("a disabled user's sessions end at once and it cannot sign in again", async (t) => {
  const { env, gw } = await signInHarness(t);
  const alice = await signIn(gw.url, "alice");
  const store = await openGatewayStore(env.databaseUrl);
  t.after(() => store.close());
  await disableUser(store, "acme", "alice");
  assertProblem(await asBrowser(gw.url, alice, "GET", "/v1/session"), 401, "SESSION_EXPIRED");
  assertProblem(await http(gw.url, "POST", "/v1/session", { json: { tenant: "acme", username: "alice", password: PASSWORD } }), 401, "INVALID_CREDENTIALS");
  await assert.rejects(disableUser(store, "acme", "nobody"), (e: Error & { reason?: string }) => e.reason === "USER_NOT_FOUND");
  // Others are untouched.
  assert.equal((await signIn(gw.url, "oscar")).body.user.role, "operator");
});
