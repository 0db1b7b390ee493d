import { test } from "node:test";
import assert from "node:assert/strict";
import { generateToken, parseToken, verifyToken } from "./token.js";

// Issued before invite tokens moved to the runtime's scheme: the token and the hash its row holds.
const ISSUED = "dfi1_CzBVep_E6Q4zWH2ix-wRNg_W4Clyu8UOV6DqM3yFzxhhqvQ9Ro_ZImu0_gdQmeMsdY";
const STORED = Buffer.from("1aabb8434f1f7853df00b15413108be3c01c15d55a5ccc35b766d9787c164287", "hex");

test("an invite token issued before still redeems against its stored hash", () => {
  const p = parseToken(ISSUED);
  assert.equal(p?.selector, "CzBVep_E6Q4zWH2ix-wRNg");
  assert.equal(verifyToken(p!.verifier, STORED), true);
});

test("a new invite token has the dfi1_<selector>_<verifier> shape and verifies", () => {
  const t = generateToken();
  assert.match(t.token, /^dfi1_[A-Za-z0-9_-]{22}_[A-Za-z0-9_-]{43}$/);
  const p = parseToken(t.token)!;
  assert.equal(verifyToken(p.verifier, t.verifierHash), true);
  assert.equal(parseToken(t.token.replace("dfi1_", "dak1_")), undefined);
});
