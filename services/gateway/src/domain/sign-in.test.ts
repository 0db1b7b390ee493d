import { test } from "node:test";
import assert from "node:assert/strict";
import { csrfTokenOf, loopbackRedirectUri, newSecret, parseRoleMap, pkceChallengeS256, pkceMatches, roleForGroups, safeReturnTo, sessionState } from "./sign-in.js";

test("returnTo keeps same-origin relative paths only", () => {
  assert.equal(safeReturnTo("/clusters"), "/clusters");
  assert.equal(safeReturnTo("/v1/auth/cli/authorize?state=a&x=%2F"), "/v1/auth/cli/authorize?state=a&x=%2F");
  for (const bad of ["//evil.example/x", "/\\evil.example", "https://evil.example/", "javascript:alert(1)", "clusters", "", "/a\nb", "/a\\b", undefined, 5, "/" + "a".repeat(3000)]) {
    assert.equal(safeReturnTo(bad), "/", String(bad));
  }
});

test("the CLI's redirect must be http on loopback with a port", () => {
  assert.equal(loopbackRedirectUri("http://127.0.0.1:53682/callback"), "http://127.0.0.1:53682/callback");
  assert.equal(loopbackRedirectUri("http://localhost:8000/cb?x=1"), "http://localhost:8000/cb?x=1");
  for (const bad of ["https://127.0.0.1:443/cb", "http://127.0.0.1/cb", "http://evil.example:80/cb", "http://127.0.0.1.evil.example:80/", "http://user@127.0.0.1:80/", "http://127.0.0.1:80/#x", "not a url", "http://10.0.0.1:80/"]) {
    assert.equal(loopbackRedirectUri(bad), undefined, bad);
  }
});

test("PKCE S256: the RFC 7636 example, and wrong or malformed verifiers", () => {
  const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  assert.equal(pkceChallengeS256(verifier), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  assert.equal(pkceMatches(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"), true);
  assert.equal(pkceMatches(verifier.replace("d", "e"), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"), false);
  assert.equal(pkceMatches("short", pkceChallengeS256("short")), false);
});

test("role map: the strongest mapped group wins, * catches the rest, nothing maps to no role", () => {
  const m = parseRoleMap("daalu-admins=admin, daalu-ops=operator,*=viewer");
  assert.equal(roleForGroups(m, ["x", "daalu-ops", "daalu-admins"]), "admin");
  assert.equal(roleForGroups(m, ["daalu-ops"]), "operator");
  assert.equal(roleForGroups(m, "daalu-ops"), "operator");
  assert.equal(roleForGroups(m, ["other"]), "viewer");
  assert.equal(roleForGroups(m, undefined), "viewer");
  const strict = parseRoleMap("daalu-ops=operator");
  assert.equal(roleForGroups(strict, ["other"]), undefined);
  assert.equal(roleForGroups(strict, [42, { g: 1 }]), undefined);
  assert.throws(() => parseRoleMap("daalu-ops=root"), /daalu-ops=root/);
  assert.throws(() => parseRoleMap("=admin"));
});

test("sessions end when revoked, at their absolute expiry, or after idling", () => {
  const policy = { ttlMs: 12 * 3_600_000, idleMs: 3_600_000 };
  const t0 = Date.parse("2026-01-01T00:00:00Z");
  const s = { expiresAt: new Date(t0 + policy.ttlMs), lastSeenAt: new Date(t0), revokedAt: null };
  assert.deepEqual(sessionState(s, t0 + 1000, policy), { ok: true, touch: false });
  assert.deepEqual(sessionState(s, t0 + 120_000, policy), { ok: true, touch: true });
  assert.deepEqual(sessionState(s, t0 + policy.idleMs, policy), { ok: false });
  assert.deepEqual(sessionState({ ...s, lastSeenAt: new Date(t0 + policy.ttlMs - 1) }, t0 + policy.ttlMs, policy), { ok: false });
  assert.deepEqual(sessionState({ ...s, revokedAt: new Date(t0) }, t0 + 1, policy), { ok: false });
});

test("CSRF tokens are per session and are not the secret", () => {
  const a = newSecret();
  const b = newSecret();
  assert.notEqual(csrfTokenOf(a), csrfTokenOf(b));
  assert.equal(csrfTokenOf(a), csrfTokenOf(a));
  assert.notEqual(csrfTokenOf(a), a);
});
