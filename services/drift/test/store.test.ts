/** Desired-state bundles in PostgreSQL (the drift schema), against a real database. */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createDb, migrateToLatest } from "@daalu/runtime";
import { setup, type TestEnv } from "@daalu/testing";
import type { Kysely } from "kysely";
import { parseBundle } from "../src/domain/bundle.js";
import { migrations } from "../src/adapters/pg/migrations.js";
import type { DriftDb } from "../src/adapters/pg/schema.js";
import { BundleStore } from "../src/adapters/pg/store.js";

const objectsOf = (text: string) => {
  const r = parseBundle(text);
  assert.ok(r.ok, JSON.stringify(r));
  return r.objects;
};
const cm = (name: string, value: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: shop\ndata:\n  k: "${value}"\n`;
const SECRET = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: shop\nstringData:\n  password: hunter2\n";

describe("drift bundle store", () => {
  let env: TestEnv;
  let db: Kysely<DriftDb>;
  let store: BundleStore;

  before(async () => {
    env = await setup();
    db = createDb<DriftDb>({ url: env.databaseUrl, schema: "drift" });
    await migrateToLatest(db as Kysely<unknown>, "drift", migrations);
    store = new BundleStore(db);
  });
  after(async () => {
    await db.destroy();
    await env.cleanup();
  });

  it("versions each different upload per cluster; an identical re-upload is the same version", async () => {
    const cluster = randomUUID();
    const v1 = await store.put("acme", cluster, objectsOf(`${cm("a", "1")}---\n${SECRET}`), "user:alice");
    assert.equal(v1.created, true);
    assert.deepEqual([v1.bundle.version, v1.bundle.objectCount, v1.bundle.uploadedBy], [1, 2, "user:alice"]);
    const again = await store.put("acme", cluster, objectsOf(`${cm("a", "1")}---\n${SECRET}`), "user:bob");
    assert.equal(again.created, false);
    assert.equal(again.bundle.version, 1);
    const v2 = await store.put("acme", cluster, objectsOf(cm("a", "2")), "user:bob");
    assert.equal(v2.bundle.version, 2);
    assert.equal((await store.latest("acme", cluster))?.version, 2);
    const old = await store.objects("acme", cluster, 1);
    assert.deepEqual(old?.objects.map((o) => `${o.kind}/${o.name}`), ["ConfigMap/a", "Secret/db"]);
    assert.deepEqual((await store.objects("acme", cluster))?.objects.map((o) => o.manifest["data"]), [{ k: "2" }]);
  });

  it("never stores a Secret's value, only its hash", async () => {
    const cluster = randomUUID();
    await store.put("acme", cluster, objectsOf(SECRET), "user:alice");
    const raw = await db.selectFrom("bundles").select("objects").where("cluster_id", "=", cluster).executeTakeFirstOrThrow();
    const text = JSON.stringify(raw.objects);
    assert.doesNotMatch(text, /hunter2/);
    assert.match(text, /"password":"sha256:[0-9a-f]{64}"/);
  });

  it("keeps tenants and clusters apart", async () => {
    const cluster = randomUUID();
    await store.put("acme", cluster, objectsOf(cm("a", "1")), "user:alice");
    assert.equal(await store.latest("globex", cluster), undefined, "another tenant sees nothing");
    assert.equal(await store.latest("acme", randomUUID()), undefined);
    assert.equal((await store.put("acme", randomUUID(), objectsOf(cm("a", "1")), "user:alice")).bundle.version, 1, "versions count per cluster");
  });

  it("concurrent uploads of one cluster get distinct consecutive versions", async () => {
    const cluster = randomUUID();
    const results = await Promise.all([1, 2, 3, 4, 5].map((i) => store.put("acme", cluster, objectsOf(cm("a", String(i))), `user:u${i}`)));
    assert.deepEqual(results.map((r) => r.bundle.version).sort(), [1, 2, 3, 4, 5]);
  });
});
