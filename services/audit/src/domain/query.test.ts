import { test } from "node:test";
import assert from "node:assert/strict";
import { encodeCursor } from "./cursor.js";
import { DEFAULT_PAGE_SIZE, INVALID_PAGE_TOKEN, MAX_PAGE_SIZE, ceilToPeriod, toCallFilter, toUsageQuery, usageDeltas, type CallQueryInput } from "./query.js";

const empty: CallQueryInput = { clusterId: "", callerKind: 0, callerId: "", verb: "", outcome: 0, statusCode: 0, since: undefined, until: undefined, pageSize: 0, pageToken: "" };

test("empty fields do not filter; page size defaults and is capped", () => {
  const f = toCallFilter("acme", empty);
  assert.ok(f.ok);
  assert.deepEqual(f.value, { tenantId: "acme", limit: DEFAULT_PAGE_SIZE });
  const big = toCallFilter("acme", { ...empty, pageSize: 50_000 });
  assert.ok(big.ok && big.value.limit === MAX_PAGE_SIZE);
});

test("filters map to the filter fields", () => {
  const token = encodeCursor({ time: new Date(1_000), id: "0190f5d2-7b1c-7a00-8000-000000000001" });
  const f = toCallFilter("acme", { ...empty, clusterId: "c1", callerKind: 3, callerId: "bot", verb: "list", outcome: 2, statusCode: 403, pageToken: token });
  assert.ok(f.ok);
  assert.equal(f.value.ok, false);
  assert.equal(f.value.statusCode, 403);
  assert.equal(f.value.after?.time.getTime(), 1_000);
});

test("bad filters are refused", () => {
  assert.deepEqual(toCallFilter("acme", { ...empty, pageToken: "garbage" }), { ok: false, problem: INVALID_PAGE_TOKEN });
  assert.ok(!toCallFilter("acme", { ...empty, statusCode: 42 }).ok);
  assert.ok(!toCallFilter("acme", { ...empty, outcome: 7 }).ok);
  assert.ok(!toCallFilter("acme", { ...empty, since: new Date(2_000), until: new Date(1_000) }).ok);
});

test("usage ranges cover whole buckets starting inside [since, until)", () => {
  const q = toUsageQuery("acme", { period: 2, since: new Date("2026-11-01T05:00:00Z"), until: new Date("2026-11-03T00:00:00Z"), clusterId: "", byCluster: false });
  assert.ok(q.ok);
  assert.equal(q.value.fromHour.toISOString(), "2026-11-02T00:00:00.000Z");
  assert.equal(q.value.toHour.toISOString(), "2026-11-03T00:00:00.000Z");
  assert.equal(ceilToPeriod(new Date("2026-11-01T05:30:00Z"), "hour").toISOString(), "2026-11-01T06:00:00.000Z");
  assert.ok(!toUsageQuery("acme", { period: 0, since: new Date(0), until: new Date(1), clusterId: "", byCluster: false }).ok);
  assert.ok(!toUsageQuery("acme", { period: 1, since: new Date(0), until: new Date(400 * 86_400_000), clusterId: "", byCluster: false }).ok);
});

test("usage deltas sum per tenant, cluster and UTC hour, in key order", () => {
  const t = (iso: string) => new Date(iso);
  const d = usageDeltas([
    { tenantId: "b", clusterId: "c1", time: t("2026-11-22T10:59:59.999Z"), ok: true, bytesIn: 1, bytesOut: 10 },
    { tenantId: "a", clusterId: "c1", time: t("2026-11-22T10:00:00.000Z"), ok: false, bytesIn: 2, bytesOut: 20 },
    { tenantId: "a", clusterId: "c1", time: t("2026-11-22T10:30:00.000Z"), ok: true, bytesIn: 3, bytesOut: 30 },
    { tenantId: "a", clusterId: "c1", time: t("2026-11-22T11:00:00.000Z"), ok: true, bytesIn: 4, bytesOut: 40 },
  ]);
  assert.deepEqual(
    d.map((x) => [x.tenantId, x.hour.toISOString(), x.calls, x.errors, x.bytesIn, x.bytesOut]),
    [
      ["a", "2026-11-22T10:00:00.000Z", 2, 1, 5, 50],
      ["a", "2026-11-22T11:00:00.000Z", 1, 0, 4, 40],
      ["b", "2026-11-22T10:00:00.000Z", 1, 0, 1, 10],
    ],
  );
});
