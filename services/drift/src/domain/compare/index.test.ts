import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { compareObject } from "./index.js";

const deployment = (spec: Record<string, unknown>, metadata: Record<string, unknown> = { name: "web" }) => ({ apiVersion: "apps/v1", kind: "Deployment", metadata, spec });
const podSpec = (spec: Record<string, unknown>) => deployment({ template: { spec } });

describe("compareObject", () => {
  it("counts only the fields the manifest sets; server-owned metadata, status, apiVersion and kind never count", () => {
    const d = deployment({ replicas: 2 }, { name: "web", uid: "old", resourceVersion: "1", generation: 1 });
    const l = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", uid: "new", resourceVersion: "9", generation: 7, labels: { added: "x" } }, spec: { replicas: 2, paused: false }, status: { replicas: 2 } };
    assert.deepEqual(compareObject({ ...d, status: { replicas: 9 } }, l), { state: "in_sync", patch: [] });
    // A list read leaves apiVersion and kind out of each item: still in sync.
    const { apiVersion: _a, kind: _k, ...item } = l;
    assert.deepEqual(compareObject(d, item), { state: "in_sync", patch: [] });
  });

  it("adds what live lacks at the first missing level, escaping pointer tokens", () => {
    const d = deployment({}, { name: "web", annotations: { "example.com/owner": "shop~team" }, labels: { tier: "web" } });
    const r = compareObject(d, deployment({}, { name: "web", labels: {} }));
    assert.deepEqual(r.patch, [
      { op: "add", path: "/metadata/annotations", value: { "example.com/owner": "shop~team" } },
      { op: "add", path: "/metadata/labels/tier", value: "web" },
    ]);
    const r2 = compareObject(d, deployment({}, { name: "web", annotations: { "example.com/owner": "other" }, labels: { tier: "web" } }));
    assert.deepEqual(r2.patch, [{ op: "replace", path: "/metadata/annotations/example.com~1owner", value: "shop~team" }]);
  });

  it("a null sets nothing; a zero value equals an absent live field but not a different one", () => {
    assert.equal(compareObject(deployment({ paused: null, minReadySeconds: 0, strategy: {} }), deployment({})).state, "in_sync");
    assert.deepEqual(compareObject(deployment({ minReadySeconds: 0 }), deployment({ minReadySeconds: 5 })).patch, [{ op: "replace", path: "/spec/minReadySeconds", value: 0 }]);
  });

  it("ignore pointers (RFC 6901, into the desired object) silence a field and everything under it, also inside added values", () => {
    const d = deployment({ replicas: 3, template: { metadata: { annotations: { "a/b": "1", keep: "2" } } } });
    const l = deployment({ replicas: 5 });
    assert.deepEqual(compareObject(d, l, { ignore: ["/spec/replicas", "/spec/template/metadata/annotations/a~1b"] }).patch, [
      { op: "add", path: "/spec/template", value: { metadata: { annotations: { keep: "2" } } } },
    ]);
    assert.deepEqual(compareObject(d, l, { ignore: [""] }), { state: "in_sync", patch: [] });
    // A pointer that does not start with "/" is not a pointer: it silences nothing.
    assert.equal(compareObject(d, l, { ignore: ["spec/replicas"] }).patch.length, 2);
  });

  it("an ignored item of an atomic list keeps its place with live's item, so the replaced list compares in sync", () => {
    const d = podSpec({ containers: [{ name: "a", args: ["--x", "--managed-by-someone", "--y"] }] });
    const l = podSpec({ containers: [{ name: "a", args: ["--old", "--set-elsewhere", "--y"] }] });
    const ignore = ["/spec/template/spec/containers/0/args/1"];
    const r = compareObject(d, l, { ignore });
    assert.deepEqual(r.patch, [{ op: "replace", path: "/spec/template/spec/containers/0/args", value: ["--x", "--set-elsewhere", "--y"] }]);
    const patched = podSpec({ containers: [{ name: "a", args: r.patch[0]!.value }] });
    assert.deepEqual(compareObject(d, patched, { ignore }), { state: "in_sync", patch: [] });
  });

  it("merge-key lists match by key in any order; live-only items (injected sidecars) do not count; a new item is appended", () => {
    const d = podSpec({ containers: [{ name: "a", image: "a:1" }, { name: "b", image: "b:1" }] });
    const l = podSpec({ containers: [{ name: "istio-proxy", image: "proxy" }, { name: "b", image: "b:2" }] });
    assert.deepEqual(compareObject(d, l).patch, [
      { op: "add", path: "/spec/template/spec/containers/-", value: { name: "a", image: "a:1" } },
      { op: "replace", path: "/spec/template/spec/containers/1/image", value: "b:1" },
    ]);
    // An ignore pointer names the DESIRED item (index 1 = b).
    assert.deepEqual(compareObject(d, l, { ignore: ["/spec/template/spec/containers/1"] }).patch.length, 1);
  });

  it("container ports match by containerPort and protocol, the protocol defaulting to TCP", () => {
    const d = podSpec({ containers: [{ name: "a", ports: [{ containerPort: 53, protocol: "UDP" }, { containerPort: 80 }] }] });
    const l = podSpec({ containers: [{ name: "a", ports: [{ containerPort: 80, protocol: "TCP" }, { containerPort: 53, protocol: "TCP" }] }] });
    assert.deepEqual(compareObject(d, l).patch, [{ op: "add", path: "/spec/template/spec/containers/0/ports/-", value: { containerPort: 53, protocol: "UDP" } }]);
  });

  it("lists without merge keys are atomic: same length and order, items compared by the fields the manifest sets", () => {
    const d = podSpec({ containers: [{ name: "a", args: ["--x", "--y"] }], tolerations: [{ key: "k", operator: "Exists" }] });
    const same = podSpec({ containers: [{ name: "a", args: ["--x", "--y"] }], tolerations: [{ key: "k", operator: "Exists", effect: "" }] });
    assert.equal(compareObject(d, same).state, "in_sync");
    const reordered = podSpec({ containers: [{ name: "a", args: ["--y", "--x"] }], tolerations: [{ key: "k", operator: "Exists" }, { key: "extra" }] });
    assert.deepEqual(compareObject(d, reordered).patch, [
      { op: "replace", path: "/spec/template/spec/containers/0/args", value: ["--x", "--y"] },
      { op: "replace", path: "/spec/template/spec/tolerations", value: [{ key: "k", operator: "Exists" }] },
    ]);
  });

  it("set lists (finalizers): every desired item must be on live; extra live items do not count", () => {
    const ns = (finalizers: string[]) => ({ apiVersion: "v1", kind: "Pod", metadata: { name: "p", finalizers } });
    assert.equal(compareObject(ns(["a"]), ns(["b", "a"])).state, "in_sync");
    assert.deepEqual(compareObject(ns(["a", "c"]), ns(["b", "a"])).patch, [{ op: "add", path: "/metadata/finalizers/-", value: "c" }]);
  });

  it("quantities and int-or-string by meaning where the schema says so, strictly elsewhere", () => {
    const d = podSpec({ containers: [{ name: "a", resources: { limits: { cpu: 1, memory: "1Gi" } }, livenessProbe: { httpGet: { port: "80" } } }] });
    const l = podSpec({ containers: [{ name: "a", resources: { limits: { cpu: "1000m", memory: "1024Mi" } }, livenessProbe: { httpGet: { port: 80 } } }] });
    assert.equal(compareObject(d, l).state, "in_sync");
    // An env value is a plain string: "1" and 1 differ there.
    assert.equal(compareObject(podSpec({ containers: [{ name: "a", env: [{ name: "N", value: "1" }] }] }), podSpec({ containers: [{ name: "a", env: [{ name: "N", value: 1 }] }] })).state, "modified");
  });

  it("knows the pod template of a Job, and compares an unknown kind generically (lists atomic)", () => {
    const job = (containers: unknown[]) => ({ apiVersion: "batch/v1", kind: "Job", metadata: { name: "j" }, spec: { template: { spec: { containers } } } });
    assert.equal(compareObject(job([{ name: "a" }, { name: "b" }]), job([{ name: "b" }, { name: "a" }])).state, "in_sync");
    const cr = (items: unknown[]) => ({ apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" }, spec: { items } });
    assert.equal(compareObject(cr([{ name: "a" }, { name: "b" }]), cr([{ name: "b" }, { name: "a" }])).state, "modified");
  });

  it("a type change replaces the whole value; odd JSON never throws", () => {
    assert.deepEqual(compareObject(deployment({ selector: { matchLabels: { a: "b" } } }), deployment({ selector: "x" })).patch, [{ op: "replace", path: "/spec/selector", value: { matchLabels: { a: "b" } } }]);
    assert.equal(compareObject({}, {}).state, "in_sync");
    assert.equal(compareObject({ kind: 5, spec: [1, { a: null }] }, { spec: "x", metadata: null }).state, "modified");
    assert.equal(compareObject(podSpec({ containers: ["not a map"] }), podSpec({ containers: [{ name: "a" }] })).state, "modified");
  });

  it("a Secret's values are compared by hash and only hashes are ever in the result, even if the desired values were not hashed", () => {
    const d = { apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, data: { a: Buffer.from("alpha-1").toString("base64") }, stringData: { b: "beta-2" } };
    const l = { apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, data: { a: Buffer.from("alpha-1").toString("base64"), b: Buffer.from("other-3").toString("base64") } };
    const r = compareObject(d, l);
    assert.equal(r.state, "modified");
    assert.deepEqual(r.patch.map((o) => [o.op, o.path]), [["replace", "/data/b"]]);
    assert.match(String(r.patch[0]!.value), /^sha256:[0-9a-f]{64}$/);
    assert.doesNotMatch(JSON.stringify(r), /alpha|beta|other|YWxwaGEtMQ|YmV0YS0y|b3RoZXItMw/);
    assert.equal(compareObject(d, { ...l, data: { ...l.data, b: Buffer.from("beta-2").toString("base64") } }).state, "in_sync");
    assert.equal(compareObject(d, l, { ignore: ["/stringData/b"] }).state, "in_sync");
    const missing = compareObject(d, { apiVersion: "v1", kind: "Secret", metadata: { name: "s" } });
    assert.deepEqual(Object.keys(missing.patch[0]!.value as object), ["a", "b"]);
    assert.doesNotMatch(JSON.stringify(missing), /alpha|beta|YWxwaGEtMQ/);
  });
});
