import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { pkceChallengeS256 } from "../src/domain/sign-in.js";
import { cli } from "./admin-cli.js";
import { assertProblem, http } from "./helpers.js";
import { signIn, signInHarness, type Browser } from "./sign-in-harness.js";

// `daalu login`: the browser authorizes, the CLI's loopback server gets a
// code, the CLI swaps code + PKCE verifier for an API token.

const REDIRECT = "http://127.0.0.1:53682/callback";

function authorizeUrl(opts: { redirect?: string; state?: string; challenge: string }): string {
  const q = new URLSearchParams({ redirect_uri: opts.redirect ?? REDIRECT, state: opts.state ?? "st-1", code_challenge: opts.challenge, code_challenge_method: "S256" });
  return `/v1/auth/cli/authorize?${q}`;
}

/** GET without following redirects, as the browser would see it. */
async function visit(base: string, path: string, b?: Browser): Promise<{ status: number; location: string | null; res: Response }> {
  const res = await fetch(base + path, { redirect: "manual", headers: b ? { cookie: b.cookie } : {} });
  return { status: res.status, location: res.headers.get("location"), res };
}

/** A fresh PKCE pair. */
function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: pkceChallengeS256(verifier) };
}

async function codeFor(base: string, b: Browser, challenge: string, state = "st-1"): Promise<string> {
  const r = await visit(base, authorizeUrl({ challenge, state }), b);
  assert.equal(r.status, 302);
  const to = new URL(r.location!);
  assert.equal(`${to.origin}${to.pathname}`, REDIRECT);
  assert.equal(to.searchParams.get("state"), state);
  return to.searchParams.get("code")!;
}

test("not signed in: authorize sends the browser to the sign-in page, which returns here", async (t) => {
  const { gw } = await signInHarness(t);
  const path = authorizeUrl({ challenge: pkce().challenge });
  const r = await visit(gw.url, path);
  assert.equal(r.status, 302);
  const to = new URL(r.location!, gw.url);
  assert.equal(to.origin, new URL(gw.url).origin);
  assert.equal(to.pathname, "/signin");
  assert.equal(to.searchParams.get("returnTo"), path);
  // A made-up cookie is no session either.
  assert.equal((await visit(gw.url, path, { cookie: `daalu_session=${"A".repeat(43)}`, csrf: "", body: null })).location, r.location);
});

test("only a loopback http redirect with a port is accepted", async (t) => {
  const { gw } = await signInHarness(t);
  const alice = await signIn(gw.url, "alice");
  const { challenge } = pkce();
  for (const redirect of ["https://evil.example/cb", "http://evil.example:8080/cb", "http://127.0.0.1/cb", "http://10.1.2.3:8080/cb", "file:///etc/passwd"]) {
    const r = await http(gw.url, "GET", authorizeUrl({ redirect, challenge }), { headers: { cookie: alice.cookie } });
    assertProblem(r, 400, "INVALID_REDIRECT_URI");
  }
  // localhost is loopback too.
  const ok = await visit(gw.url, authorizeUrl({ redirect: "http://localhost:8123/cb", challenge }), alice);
  assert.equal(ok.status, 302);
  assert.match(ok.location!, /^http:\/\/localhost:8123\/cb\?code=[A-Za-z0-9_-]{43}&state=st-1$/);
  // Only S256.
  const plain = new URLSearchParams({ redirect_uri: REDIRECT, state: "s", code_challenge: challenge, code_challenge_method: "plain" });
  assertProblem(await http(gw.url, "GET", `/v1/auth/cli/authorize?${plain}`, { headers: { cookie: alice.cookie } }), 400, "INVALID_REQUEST");
});

test("code + verifier give an API token with the user's role; a wrong verifier or a reused code is refused", async (t) => {
  const { gw, clock } = await signInHarness(t);
  const oscar = await signIn(gw.url, "oscar");
  const token = (code: string, codeVerifier: string) => http(gw.url, "POST", "/v1/auth/cli/token", { json: { code, codeVerifier } });

  // A wrong verifier is refused, and it used the code up.
  const p1 = pkce();
  const c1 = await codeFor(gw.url, oscar, p1.challenge);
  assertProblem(await token(c1, pkce().verifier), 400, "INVALID_GRANT");
  assertProblem(await token(c1, p1.verifier), 400, "INVALID_GRANT");

  // The right one works once.
  const p2 = pkce();
  const c2 = await codeFor(gw.url, oscar, p2.challenge, "another-state");
  const r = await token(c2, p2.verifier);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(Object.keys(r.body).sort(), ["role", "tenantId", "token", "username"]);
  assert.equal(r.body.tenantId, "acme");
  assert.equal(r.body.username, "oscar");
  assert.equal(r.body.role, "operator");
  assert.match(r.body.token, /^dak1_/);
  assert.equal(r.headers.get("cache-control"), "no-store");
  assertProblem(await token(c2, p2.verifier), 400, "INVALID_GRANT");

  // The token is a working operator bearer token (503: peering is not running here) without any CSRF token.
  assertProblem(await http(gw.url, "GET", "/v1/clusters", { token: r.body.token }), 503, "UNAVAILABLE");
  assertProblem(await http(gw.url, "PUT", "/v1/subnet", { token: r.body.token, json: { cidr: "10.1.0.0/24" } }), 403, "ADMIN_REQUIRED");
  const named = await gw.store.db.selectFrom("api_tokens").select(["name", "role", "caller_kind"]).where("name", "like", "cli:%").execute();
  assert.deepEqual(named, [{ name: `cli:oscar:${new Date(clock.ms).toISOString().slice(0, 10)}`, role: "operator", caller_kind: "user" }]);

  // Codes live two minutes; unknown codes are refused the same way.
  const p3 = pkce();
  const c3 = await codeFor(gw.url, oscar, p3.challenge);
  clock.advance(2 * 60_000 + 1);
  assertProblem(await token(c3, p3.verifier), 400, "INVALID_GRANT");
  assertProblem(await token("A".repeat(43), p3.verifier), 400, "INVALID_GRANT");
});

test("disabling a user (cli.ts user disable) revokes the API tokens its CLI logins obtained, and no one else's", async (t) => {
  // No authentication cache: the revocation shows on the next request.
  const { env, gw, tokens } = await signInHarness(t, { GATEWAY_AUTH_CACHE: "0ms" });
  const cliToken = async (username: string) => {
    const p = pkce();
    const code = await codeFor(gw.url, await signIn(gw.url, username), p.challenge);
    const r = await http(gw.url, "POST", "/v1/auth/cli/token", { json: { code, codeVerifier: p.verifier } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.token as string;
  };
  const oscars = [await cliToken("oscar"), await cliToken("oscar")];
  const alices = await cliToken("alice");
  // 503: past authentication (peering is not running here); 401: the token is refused.
  const list = (token: string) => http(gw.url, "GET", "/v1/clusters", { token });
  for (const tk of oscars) assertProblem(await list(tk), 503, "UNAVAILABLE");

  const out = await cli(env.env, ["user", "disable", "--tenant", "acme", "--username", "oscar"]);
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /CLI-login tokens are ended/);
  for (const tk of oscars) assertProblem(await list(tk), 401, "UNAUTHENTICATED");
  // Another user's CLI token and a token made by hand (no user) still work.
  assertProblem(await list(alices), 503, "UNAVAILABLE");
  assertProblem(await list(tokens.viewer), 503, "UNAVAILABLE");
  const rows = await gw.store.db.selectFrom("api_tokens").select(["name", "revoked_at"]).where("name", "like", "cli:%").orderBy("name").execute();
  assert.deepEqual(rows.map((r) => [r.name.split(":")[1], r.revoked_at !== null]), [["alice", false], ["oscar", true], ["oscar", true]]);
});

test("GET /v1/whoami: a CLI-login token's tenant and role (what `daalu whoami` shows), and a session's", async (t) => {
  const { gw, tokens } = await signInHarness(t);
  const oscar = await signIn(gw.url, "oscar");
  const p = pkce();
  const r = await http(gw.url, "POST", "/v1/auth/cli/token", { json: { code: await codeFor(gw.url, oscar, p.challenge), codeVerifier: p.verifier } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const byToken = await http(gw.url, "GET", "/v1/whoami", { token: r.body.token });
  assert.equal(byToken.status, 200, JSON.stringify(byToken.body));
  assert.deepEqual({ ...byToken.body, caller: { ...byToken.body.caller, id: byToken.body.caller.id.split(":").slice(0, 2).join(":") } }, { tenantId: "acme", role: "operator", caller: { kind: "user", id: "cli:oscar" }, via: "token" });
  assert.equal(byToken.headers.get("cache-control"), "no-store");
  assert.equal((await http(gw.url, "GET", "/v1/whoami", { token: tokens.viewer })).body.role, "viewer");
  const bySession = await http(gw.url, "GET", "/v1/whoami", { headers: { cookie: oscar.cookie } });
  assert.deepEqual(bySession.body, { tenantId: "acme", role: "operator", caller: { kind: "user", id: "oscar" }, via: "session" });
  assertProblem(await http(gw.url, "GET", "/v1/whoami"), 401, "UNAUTHENTICATED");
});
