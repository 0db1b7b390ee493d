import { test } from "node:test";
import assert from "node:assert/strict";
import { KubectlSlots } from "./kubectl-slots.js";

test("regression: a tenant saturating its share leaves slots to the others", () => {
  const s = new KubectlSlots({ total: 4, perTenant: 2, perCluster: 2 });
  const b = [s.acquire("globex", "b1"), s.acquire("globex", "b2")];
  assert.ok(b.every((g) => g.ok));
  assert.deepEqual(s.acquire("globex", "b3"), { ok: false, scope: "tenant", limit: 2 });
  const a = s.acquire("acme", "a1");
  assert.equal(a.ok, true);
});

test("caps per cluster, per tenant and per gateway; release frees each once", () => {
  const s = new KubectlSlots({ total: 3, perTenant: 2, perCluster: 1 });
  const a1 = s.acquire("acme", "c1");
  assert.deepEqual(s.acquire("acme", "c1"), { ok: false, scope: "cluster", limit: 1 });
  assert.ok(s.acquire("acme", "c2").ok);
  assert.deepEqual(s.acquire("acme", "c1"), { ok: false, scope: "tenant", limit: 2 }, "the tenant's cap is named first");
  assert.deepEqual(s.acquire("acme", "c3"), { ok: false, scope: "tenant", limit: 2 });
  assert.ok(s.acquire("globex", "c1").ok, "cluster ids are per tenant");
  assert.deepEqual(s.acquire("initech", "c1"), { ok: false, scope: "gateway", limit: 3 });
  assert.ok(a1.ok);
  if (a1.ok) {
    a1.release();
    a1.release();
  }
  assert.equal(s.inUse(), 2);
  assert.equal(s.inUse("acme"), 1);
  assert.equal(s.inUse("acme", "c1"), 0);
  assert.ok(s.acquire("initech", "c1").ok);
  assert.equal(s.inUse(), 3);
});
