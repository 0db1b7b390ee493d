/**
 * The drift comparison over realistic fixtures (test/fixtures/compare/): each
 * manifest as a user writes it, parsed by the bundle parser as on upload
 * (Secret values hashed), against the object as an API server returns it.
 * The property test mutates the live objects at random (seeded), applies the
 * patch with fast-json-patch (validating every operation against live), and
 * checks that comparing again is in sync and that no Secret value ever shows.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import jsonpatch, { type Operation } from "fast-json-patch";
import { parseBundle } from "../src/domain/bundle.js";
import { compareObject, type CompareOptions, type CompareResult } from "../src/domain/compare/index.js";

type Obj = Record<string, unknown>;
const DIR = join(dirname(fileURLToPath(import.meta.url)), "fixtures/compare");

function desired(name: string): Obj {
  const r = parseBundle(readFileSync(join(DIR, `${name}.desired.yaml`), "utf8"));
  assert.ok(r.ok, JSON.stringify(r));
  return r.objects[0]!.manifest;
}
const live = (name: string): Obj => JSON.parse(readFileSync(join(DIR, `${name}.live.json`), "utf8")) as Obj;

/** Applies `result.patch` to a copy of `l` (every operation validated against it) and compares again. */
function applyAndCompare(d: Obj, l: Obj, result: CompareResult, opts?: CompareOptions): CompareResult {
  const patched = jsonpatch.applyPatch(structuredClone(l), result.patch as Operation[], true, false).newDocument;
  return compareObject(d, patched, opts);
}

/** Secret plaintexts and their base64 forms, as in the fixture. */
const SECRET_VALUES = ["n3w-Pa55word", "0ld-Pa55word", "orders-rw", "b3JkZXJzLXJ3", Buffer.from("n3w-Pa55word").toString("base64"), Buffer.from("0ld-Pa55word").toString("base64")];

describe("drift comparison: fixtures", () => {
  it("a live Deployment with defaults, controller labels/annotations, respelled quantities and reordered lists is in sync", () => {
    // Defaults (imagePullPolicy, terminationMessagePath, dnsPolicy, revisionHistoryLimit, probe timings, protocol…),
    // cpu "0.5" = "500m", 1 = "1", memory 1Gi = 1024Mi, maxSurge "1" = 1, probe port "8080" = 8080,
    // containers and env in another order, labels/annotations added on live, status and managedFields.
    assert.deepEqual(compareObject(desired("deployment"), live("deployment")), { state: "in_sync", patch: [] });
  });

  it("an HPA-changed replicas is drift without an ignore rule and in sync with /spec/replicas ignored", () => {
    const r = compareObject(desired("deployment"), live("deployment-hpa"));
    assert.deepEqual(r, { state: "modified", patch: [{ op: "replace", path: "/spec/replicas", value: 2 }] });
    assert.deepEqual(compareObject(desired("deployment"), live("deployment-hpa"), { ignore: ["/spec/replicas"] }), { state: "in_sync", patch: [] });
  });

  it("a changed image is modified, with a replace at the container's LIVE index", () => {
    // The manifest lists web first; live lists it second.
    const r = compareObject(desired("deployment"), live("deployment-image"));
    assert.deepEqual(r, {
      state: "modified",
      patch: [{ op: "replace", path: "/spec/template/spec/containers/1/image", value: "registry.example.com/shop/web:1.4.2" }],
    });
    assert.deepEqual(applyAndCompare(desired("deployment"), live("deployment-image"), r), { state: "in_sync", patch: [] });
  });

  it("a Service whose targetPort is 80 where the manifest says \"80\" is in sync; ports match by port and protocol", () => {
    assert.deepEqual(compareObject(desired("service"), live("service")), { state: "in_sync", patch: [] });
    const udp = live("service");
    ((udp["spec"] as Obj)["ports"] as Obj[])[1]!["protocol"] = "UDP";
    // http/80 is now only UDP on live: the manifest's TCP port is missing and is added.
    const r = compareObject(desired("service"), udp);
    assert.deepEqual(r.patch, [{ op: "add", path: "/spec/ports/-", value: { name: "http", port: 80, targetPort: "80" } }]);
  });

  it("controller-added labels, annotations and finalizers on a Namespace are in sync", () => {
    assert.deepEqual(compareObject(desired("namespace"), live("namespace")), { state: "in_sync", patch: [] });
  });

  it("a Secret with changed data is modified, the op carries the hash, and no value appears", () => {
    const d = desired("secret");
    const r = compareObject(d, live("secret"));
    assert.equal(r.state, "modified");
    assert.equal(r.patch.length, 1);
    assert.equal(r.patch[0]!.op, "replace");
    assert.equal(r.patch[0]!.path, "/data/password");
    assert.match(String(r.patch[0]!.value), /^sha256:[0-9a-f]{64}$/);
    const text = JSON.stringify(r);
    for (const v of SECRET_VALUES) assert.ok(!text.includes(v), `no ${v} in the result`);
    assert.deepEqual(applyAndCompare(d, live("secret"), r), { state: "in_sync", patch: [] });
    // The same Secret with the new password on live is in sync: stringData is compared as data, by hash.
    const updated = live("secret");
    (updated["data"] as Obj)["password"] = Buffer.from("n3w-Pa55word").toString("base64");
    assert.deepEqual(compareObject(d, updated), { state: "in_sync", patch: [] });
  });
});

/** A small seeded PRNG (mulberry32), so a failure names a seed that reproduces it. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Container = Obj | unknown[];
/** Every map and list inside `v`, with its parent and key. */
function places(v: unknown, out: { parent: Container; key: string | number; value: unknown }[] = []): typeof out {
  const entries: [string | number, unknown][] = Array.isArray(v) ? v.map((x, i) => [i, x]) : v && typeof v === "object" ? Object.entries(v) : [];
  for (const [key, value] of entries) {
    out.push({ parent: v as Container, key, value });
    places(value, out);
  }
  return out;
}

/** One random change, as a person or a controller might make it: change a scalar, delete, reorder or add. */
function mutate(l: Obj, rnd: () => number): void {
  const all = places(l);
  const p = all[Math.floor(rnd() * all.length)]!;
  const set = (v: unknown) => (Array.isArray(p.parent) ? (p.parent[p.key as number] = v) : (p.parent[p.key as string] = v));
  const choice = rnd();
  if (choice < 0.45 && (typeof p.value !== "object" || p.value === null)) {
    set(typeof p.value === "number" ? p.value + 1 : typeof p.value === "boolean" ? !p.value : `${String(p.value)}x`);
  } else if (choice < 0.7) {
    if (Array.isArray(p.parent)) p.parent.splice(p.key as number, 1);
    else delete p.parent[p.key as string];
  } else if (choice < 0.85 && Array.isArray(p.value)) {
    p.value.reverse();
  } else if (p.value && typeof p.value === "object" && !Array.isArray(p.value)) {
    (p.value as Obj)[`added-${Math.floor(rnd() * 1000)}`] = "by a controller";
  }
}

describe("drift comparison: property over the fixtures", () => {
  const cases: [string, string, CompareOptions | undefined][] = [
    ["deployment", "deployment", undefined],
    ["deployment", "deployment-hpa", { ignore: ["/spec/replicas", "/spec/strategy"] }],
    ["deployment", "deployment-image", { ignore: ["/spec/template/spec/containers/0/args/0"] }],
    ["service", "service", undefined],
    ["namespace", "namespace", { ignore: ["/metadata/annotations/owner"] }],
    ["secret", "secret", undefined],
  ];
  for (const [d, l, opts] of cases) {
    it(`${l}${opts ? " (with ignore rules)" : ""}: after any live change, the patch applies to live and makes it in sync`, () => {
      const want = desired(d);
      for (let seed = 1; seed <= 300; seed++) {
        const rnd = prng(seed);
        const changed = live(l);
        for (let n = 1 + Math.floor(rnd() * 3); n > 0; n--) mutate(changed, rnd);
        const r = compareObject(want, changed, opts);
        assert.equal(r.state, r.patch.length > 0 ? "modified" : "in_sync", `seed ${seed}`);
        assert.deepEqual(applyAndCompare(want, changed, r, opts), { state: "in_sync", patch: [] }, `seed ${seed}: ${JSON.stringify(r.patch)}`);
        const text = JSON.stringify(r);
        for (const v of SECRET_VALUES) assert.ok(!text.includes(v), `seed ${seed}: ${v} in the result`);
        for (const op of r.patch) for (const ignored of opts?.ignore ?? []) assert.ok(!op.path.startsWith(ignored), `seed ${seed}: ${op.path} is ignored`);
      }
    });
  }
});
