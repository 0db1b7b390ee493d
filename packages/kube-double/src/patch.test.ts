import { test } from "node:test";
import assert from "node:assert/strict";
import { jsonPatch, mergePatch } from "./patch.js";

test("merge patch replaces lists and deletes nulls; strategic merges named lists", () => {
  const d = { metadata: { labels: { a: "1", b: "2" } }, spec: { containers: [{ name: "web", image: "v1" }, { name: "side", image: "s1" }] } };
  assert.deepEqual(mergePatch(d, { metadata: { labels: { b: null, c: "3" } } }).metadata.labels, { a: "1", c: "3" });
  assert.deepEqual(mergePatch(d, { spec: { containers: [{ name: "web", image: "v2" }] } }).spec.containers, [{ name: "web", image: "v2" }]);
  assert.deepEqual(mergePatch(d, { spec: { containers: [{ name: "web", image: "v2" }], $setElementOrder: [] } }, true).spec.containers, [{ name: "web", image: "v2" }, { name: "side", image: "s1" }]);
  assert.deepEqual(d.metadata.labels, { a: "1", b: "2" }, "input untouched");
});

test("JSON patch ops", () => {
  const d = { data: { a: "x" }, list: [1, 2] };
  assert.deepEqual(jsonPatch(d, [{ op: "add", path: "/data/b", value: "y" }, { op: "remove", path: "/data/a" }, { op: "add", path: "/list/-", value: 3 }, { op: "replace", path: "/list/0", value: 0 }]), { data: { b: "y" }, list: [0, 2, 3] });
  assert.throws(() => jsonPatch(d, [{ op: "remove", path: "/nope/x" }]), /missing/);
  assert.throws(() => jsonPatch(d, [{ op: "test", path: "/data/a", value: "z" }]), /test operation failed/);
});
