import { test } from "node:test";
import assert from "node:assert/strict";
import { parseBundle } from "./bundle.js";
import { groupObjects, judge, nextEpisode, redactLive, statusMessage, summarize, unreadable } from "./detect.js";
import { checkSettings } from "./settings.js";

const objects = (text: string) => {
  const r = parseBundle(text);
  assert.ok(r.ok, JSON.stringify(r));
  return r.objects;
};
const cm = (ns: string, name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${ns ? `  namespace: ${ns}\n` : ""}data:\n  k: v\n`;

test("one read group per apiVersion, kind and namespace (no namespace = default), in upload order", () => {
  const groups = groupObjects(objects([cm("shop", "a"), cm("shop", "b"), cm("", "c"), cm("default", "d"), "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\n"].join("---\n")));
  assert.deepEqual(
    groups.map((g) => [g.kind, g.namespace, g.objects.map((o) => o.name)]),
    [
      ["ConfigMap", "shop", ["a", "b"]],
      ["ConfigMap", "default", ["c", "d"]],
      ["Deployment", "shop", ["web"]],
    ],
  );
});

test("results: not there is missing, a changed value is modified with a patch, Forbidden is unknown with the grant", () => {
  const [g] = groupObjects(objects(cm("shop", "a")));
  const o = g!.objects[0]!;
  assert.equal(judge(g!, o, undefined, []).state, "missing");
  const live = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a", namespace: "shop", uid: "x" }, data: { k: "w" } };
  assert.deepEqual(judge(g!, o, live, []), { apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "a", state: "modified", patch: [{ op: "replace", path: "/data/k", value: "v" }] });
  assert.equal(judge(g!, o, live, [{ kind: "ConfigMap", name: "", namespace: "", pointers: ["/data/k"] }]).state, "in_sync", "an ignore rule's pointer never counts");
  const u = unreadable(g!, o, 403, 'configmaps "a" is forbidden');
  assert.deepEqual([u.state, u.error, u.scope], ["unknown", 'configmaps "a" is forbidden', "grant get/list on configmaps (scope \"configmaps\")"]);
  assert.equal(unreadable(g!, o, 0, "tunnel down").scope, undefined);
});

test("a live Secret's values are hashed before anything sees them", () => {
  const r = JSON.stringify(redactLive("Secret", { data: { password: "aHVudGVyMg==" } }));
  assert.doesNotMatch(r, /aHVudGVyMg==/);
  assert.match(r, /sha256:[0-9a-f]{64}/);
});

test("episodes: detected once, resolved once; unknown-only changes nothing", () => {
  const s = (modified: number, missing: number, unknown: number) => ({ inSync: 1, modified, missing, unknown });
  assert.deepEqual(nextEpisode(false, s(1, 0, 0)), { drifted: true, event: "detected" });
  assert.deepEqual(nextEpisode(true, s(0, 1, 0)), { drifted: true });
  assert.deepEqual(nextEpisode(true, s(0, 0, 1)), { drifted: true });
  assert.deepEqual(nextEpisode(true, s(0, 0, 0)), { drifted: false, event: "resolved" });
  assert.deepEqual(nextEpisode(false, s(0, 0, 2)), { drifted: false });
  assert.deepEqual(summarize([{ apiVersion: "v1", kind: "A", namespace: "", name: "a", state: "unknown" }]), { inSync: 0, modified: 0, missing: 0, unknown: 1 });
});

test("an error answer's Kubernetes message verbatim, else its text", () => {
  assert.equal(statusMessage(403, JSON.stringify({ kind: "Status", message: 'pods is forbidden: User "x" cannot list resource "pods"' })), 'pods is forbidden: User "x" cannot list resource "pods"');
  assert.equal(statusMessage(502, ""), "HTTP 502");
});

test("settings: default interval, bounds, kinds and JSON pointers checked", () => {
  assert.deepEqual(checkSettings(0, []), { ok: true, intervalSeconds: 300, ignore: [] });
  assert.equal(checkSettings(5, []).ok, false);
  assert.equal(checkSettings(60, [{ kind: "Deployment", name: "", namespace: "", pointers: ["spec/replicas"] }]).ok, false);
  assert.equal(checkSettings(60, [{ kind: "Deployment", name: "web", namespace: "", pointers: ["/spec/replicas", "/metadata/annotations/a~1b"] }]).ok, true);
});
