import { test } from "node:test";
import assert from "node:assert/strict";
import { labelSelectorMatches, parseFieldSelector, parseLabelSelector } from "./selectors.js";

const obj = (labels: Record<string, string>, extra: object = {}) => ({ metadata: { name: "x", namespace: "ns", labels }, ...extra });

test("label selectors: equality, sets and existence", () => {
  const o = obj({ app: "web", tier: "front" });
  assert.ok(parseLabelSelector("app=web,tier==front")(o));
  assert.ok(!parseLabelSelector("app!=web")(o));
  assert.ok(parseLabelSelector("app in (api, web),env notin (prod)")(o));
  assert.ok(!parseLabelSelector("app notin (web)")(o));
  assert.ok(parseLabelSelector("tier,!canary")(o));
  assert.ok(!parseLabelSelector("canary")(o));
  assert.ok(parseLabelSelector("")(o));
  assert.throws(() => parseLabelSelector("app=(bad"), /unable to parse requirement/);
});

test("field selectors: dotted paths, negation and escapes", () => {
  const ev = { metadata: { name: "e" }, involvedObject: { name: "web-1", kind: "Pod", uid: "u1" } };
  assert.ok(parseFieldSelector("involvedObject.name=web-1,involvedObject.kind=Pod,involvedObject.uid=u1")(ev));
  assert.ok(!parseFieldSelector("involvedObject.name=web-2")(ev));
  const pod = { metadata: { name: "p" }, spec: { nodeName: "n1" }, status: { phase: "Running" } };
  assert.ok(parseFieldSelector("spec.nodeName=n1,status.phase!=Failed,status.phase!=Succeeded")(pod));
  assert.ok(parseFieldSelector("metadata.name=a\\,b")({ metadata: { name: "a,b" } }));
  assert.throws(() => parseFieldSelector("justakey"), /invalid selector/);
});

test("LabelSelector objects (matchLabels + matchExpressions)", () => {
  const sel = { matchLabels: { app: "web" }, matchExpressions: [{ key: "tier", operator: "In", values: ["front"] }, { key: "canary", operator: "DoesNotExist" }] };
  assert.ok(labelSelectorMatches(sel, { app: "web", tier: "front" }));
  assert.ok(!labelSelectorMatches(sel, { app: "web", tier: "front", canary: "1" }));
  assert.ok(!labelSelectorMatches(undefined, { app: "web" }));
});
