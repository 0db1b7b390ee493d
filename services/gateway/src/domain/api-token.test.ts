import { test } from "node:test";
import assert from "node:assert/strict";
import { apiTokens, bearer, roleAtLeast, ROLES, type Role } from "./api-token.js";

// Issued before API tokens moved to the runtime's scheme: the token and the hash its row holds.
const ISSUED = "dak1_-yBFao-02f4jSG2St9wBJg_S3CVut8EKU5zmL3iByxRdpvA5QovVHmew-gNMld8ocY";
const STORED = Buffer.from("a036dbfa4189b96cf7effc8c6e10e837e5d22e0fadf9a1d4c0096dc948f748f5", "hex");

test("an API token issued before still authenticates against its stored hash", () => {
  const p = apiTokens.parse(ISSUED);
  assert.equal(p?.selector, "-yBFao-02f4jSG2St9wBJg");
  assert.equal(apiTokens.verify(p!.verifier, STORED), true);
});

test("a new API token has the dak1_<selector>_<verifier> shape and verifies", () => {
  const t = apiTokens.generate();
  assert.match(t.token, /^dak1_[A-Za-z0-9_-]{22}_[A-Za-z0-9_-]{43}$/);
  const p = apiTokens.parse(t.token)!;
  assert.equal(apiTokens.verify(p.verifier, t.verifierHash), true);
  assert.equal(apiTokens.parse(t.token.replace("dak1_", "dfi1_")), undefined);
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
