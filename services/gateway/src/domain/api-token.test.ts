import { test } from "node:test";
import assert from "node:assert/strict";
import { bearer, generateApiToken, parseApiToken, roleAtLeast, ROLES, verifierMatches, type Role } from "./api-token.js";

test("a generated token parses back and verifies against its stored hash only", () => {
  const t = generateApiToken();
  assert.match(t.token, /^dak1_[A-Za-z0-9_-]{22}_[A-Za-z0-9_-]{43}$/);
  const p = parseApiToken(t.token);
  assert.ok(p);
  assert.equal(p.selector, t.selector);
  assert.ok(verifierMatches(p.verifier, t.verifierHash));
  const other = generateApiToken();
  assert.equal(verifierMatches(p.verifier, other.verifierHash), false);
  assert.equal(verifierMatches(p.verifier, Buffer.alloc(3)), false);
});

test("selectors and verifiers containing '_' still split at the right place", () => {
  for (let i = 0; i < 200; i++) {
    const t = generateApiToken();
    assert.equal(parseApiToken(t.token)?.selector, t.selector);
  }
});

test("malformed tokens are refused", () => {
  const t = generateApiToken().token;
  for (const bad of ["", "dak1_", t.slice(0, -1), `${t}x`, t.replace("dak1", "dak2"), t.slice(0, 27) + "." + t.slice(28), `dak1_${"a".repeat(22)}-${"b".repeat(43)}`]) {
    assert.equal(parseApiToken(bad), undefined, bad);
  }
});

test("bearer extracts the credential", () => {
  assert.equal(bearer("Bearer abc"), "abc");
  assert.equal(bearer("bearer  abc "), "abc");
  assert.equal(bearer("Basic abc"), undefined);
  assert.equal(bearer("Bearer a b"), undefined);
  assert.equal(bearer(undefined), undefined);
});

test("roles nest: admin ⊇ operator ⊇ viewer", () => {
  assert.deepEqual(
    ROLES.map((r) => ROLES.filter((min) => roleAtLeast(r, min))),
    [["admin", "operator", "viewer"], ["operator", "viewer"], ["viewer"]],
  );
  assert.equal(roleAtLeast("nobody" as Role, "viewer"), false);
});
