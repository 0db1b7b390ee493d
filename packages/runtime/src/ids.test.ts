import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { isUuid } from "./ids.js";

test("isUuid accepts UUIDs in either case and nothing else", () => {
  assert.ok(isUuid(randomUUID()));
  assert.ok(isUuid("0B7F4A2E-9A53-4C1E-8C77-3F1B2F0A9D11"));
  for (const bad of ["", "x", "0b7f4a2e9a534c1e8c773f1b2f0a9d11", "0b7f4a2e-9a53-4c1e-8c77-3f1b2f0a9d1", "0b7f4a2e-9a53-4c1e-8c77-3f1b2f0a9d11\n", "{0b7f4a2e-9a53-4c1e-8c77-3f1b2f0a9d11}", "0b7f4a2e-9a53-4c1e-8c77-3f1b2f0a9d1g"]) {
    assert.equal(isUuid(bad), false, JSON.stringify(bad));
  }
});
