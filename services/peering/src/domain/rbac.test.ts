import { test } from "node:test";
import assert from "node:assert/strict";
import { presetRules, resolve, rulesFor } from "@daalu/rbac";
import { isApplied } from "./rbac.js";

const at = new Date(0);

test("a request is applied once the edge reports every rule it gives, and never on an error or an unknown scope", () => {
  const req = { requestedScopes: ["configmaps", "custom-resources:cert-manager.io"], requestedCustomRules: [], requestedAt: at };
  const granted = rulesFor(resolve({ scopes: req.requestedScopes }));
  assert.equal(isApplied({ ...req, effectiveRules: presetRules("read-only"), effectiveError: "" }), false);
  assert.equal(isApplied({ ...req, effectiveRules: granted, effectiveError: "" }), true);
  assert.equal(isApplied({ ...req, effectiveRules: granted, effectiveError: "HTTP 403" }), false);
  assert.equal(isApplied({ ...req, effectiveRules: null, effectiveError: "" }), false);
  assert.equal(isApplied({ ...req, requestedAt: null, effectiveRules: granted, effectiveError: "" }), false);
  assert.equal(isApplied({ ...req, requestedScopes: ["gone"], effectiveRules: granted, effectiveError: "" }), false);
  const custom = [{ apiGroups: ["example.com"], resources: ["widgets"], verbs: ["get"] }];
  assert.equal(isApplied({ ...req, requestedCustomRules: custom, effectiveRules: granted, effectiveError: "" }), false);
  assert.equal(isApplied({ ...req, requestedCustomRules: custom, effectiveRules: [...granted, ...custom], effectiveError: "" }), true);
});
