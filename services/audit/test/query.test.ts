import { test } from "node:test";
import assert from "node:assert/strict";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { auditv1, CallerKind } from "@daalu/proto";
import { Code, type DaaluError } from "@daalu/runtime";
import { eventually } from "@daalu/testing";
import { createAuditClient, createAuditGrpcClient } from "../src/client.js";
import { at, dbStats, harness, pool, record } from "./helpers.js";

const T0 = Date.UTC(2026, 10, 20, 22, 0, 0);
const MIN = 60_000;

test("QueryCalls: filters, newest-first cursor pages without gaps or duplicates, tenant isolation; GetUsage per hour and day", async (t) => {
  const { env, audit, publisher } = await harness(t);
  // 250 acme calls one minute apart across two clusters and ~4 hours (crossing a UTC day), plus 30 of another tenant.
  const acme = Array.from({ length: 250 }, (_, i) => record("acme", i % 2 === 0 ? "c1" : "c2", i, { time: at(new Date(T0 + i * MIN)) }));
  // Two calls at the same millisecond: the cursor must order them by id, not lose one.
  acme.push(record("acme", "c1", 1000, { time: at(new Date(T0 + 7 * MIN)) }));
  const other = Array.from({ length: 30 }, (_, i) => record("globex", "c1", i, { time: at(new Date(T0 + i * MIN)) }));
  await pool([...acme, ...other], 20, (r) => publisher.publish(r));
  await eventually(async () => assert.equal((await dbStats(env.databaseUrl)).rows, 281));

  const client = createAuditClient(env.nc, { prefix: env.prefix });
  const as = { tenantId: "acme", caller: { kind: CallerKind.USER, id: "alice" } };

  // Every page, newest first, no gaps or duplicates.
  const seen: auditv1.CallRecord[] = [];
  let token = "";
  let pages = 0;
  do {
    const page = await client.queryCalls({ pageSize: 40, pageToken: token }, as);
    seen.push(...page.calls);
    token = page.nextPageToken;
    pages++;
  } while (token);
  assert.equal(pages, 7);
  assert.equal(seen.length, acme.length);
  assert.equal(new Set(seen.map((c) => c.id)).size, acme.length, "no duplicates");
  assert.deepEqual(new Set(seen.map((c) => c.id)), new Set(acme.map((r) => r.id)), "no gaps, no other tenant");
  for (let i = 1; i < seen.length; i++) {
    const a = seen[i - 1]!;
    const b = seen[i]!;
    const ta = timestampDate(a.time!).getTime();
    const tb = timestampDate(b.time!).getTime();
    assert.ok(ta > tb || (ta === tb && a.id > b.id), `order at ${i}`);
  }
  const first = seen[0]!;
  const src = acme.find((r) => r.id === first.id)!;
  assert.equal(first.operation?.path, src.operation?.path);
  assert.equal(first.bytesOut, src.bytesOut);
  assert.equal(first.caller?.kind, src.caller?.kind);

  // Filters.
  const count = async (req: Parameters<typeof client.queryCalls>[0]) => (await client.queryCalls({ pageSize: 1000, ...req }, as)).calls.length;
  assert.equal(await count({ clusterId: "c2" }), acme.filter((r) => r.clusterId === "c2").length);
  assert.equal(await count({ callerKind: CallerKind.AGENT }), acme.filter((r) => r.caller?.kind === CallerKind.AGENT).length);
  assert.equal(await count({ callerKind: CallerKind.AGENT, callerId: "bot" }), acme.filter((r) => r.caller?.id === "bot").length);
  assert.equal(await count({ callerId: "nobody" }), 0);
  assert.equal(await count({ verb: "list" }), acme.filter((r) => r.operation?.verb === "list").length);
  assert.equal(await count({ outcome: auditv1.OutcomeFilter.ERROR }), acme.filter((r) => !r.outcome?.ok).length);
  assert.equal(await count({ outcome: auditv1.OutcomeFilter.OK }), acme.filter((r) => r.outcome?.ok).length);
  assert.equal(await count({ statusCode: 403 }), acme.filter((r) => r.outcome?.statusCode === 403).length);
  assert.equal(await count({ since: at(new Date(T0 + 100 * MIN)), until: at(new Date(T0 + 110 * MIN)) }), 10);
  assert.equal(await count({ clusterId: "c1", outcome: auditv1.OutcomeFilter.ERROR, since: at(new Date(T0)) }), acme.filter((r) => r.clusterId === "c1" && !r.outcome?.ok).length);

  // Tenant isolation: globex sees only its own, a call without a tenant is refused.
  const g = await client.queryCalls({ pageSize: 1000 }, { tenantId: "globex" });
  assert.equal(g.calls.length, 30);
  assert.ok(g.calls.every((c) => c.tenantId === "globex"));
  await assert.rejects(client.queryCalls({}), (e: DaaluError) => e.code === Code.Unauthenticated);
  await assert.rejects(client.queryCalls({ pageToken: "bogus" }, as), (e: DaaluError) => e.code === Code.InvalidArgument && e.reason === "INVALID_PAGE_TOKEN");
  await assert.rejects(client.queryCalls({ statusCode: 7 }, as), (e: DaaluError) => e.reason === "INVALID_AUDIT_QUERY");

  // Usage: hourly buckets, daily buckets (summed from hours), by cluster.
  const range = { since: at(new Date(T0 - 24 * 60 * MIN)), until: at(new Date(T0 + 48 * 60 * MIN)) };
  const hourly = await client.getUsage({ period: auditv1.UsagePeriod.HOUR, ...range }, as);
  assert.deepEqual(hourly.buckets.map((b) => Number(b.calls)), [61, 60, 60, 60, 10]);
  assert.equal(Number(hourly.total?.calls), acme.length);
  assert.equal(Number(hourly.total?.bytesOut), acme.reduce((s, r) => s + Number(r.bytesOut), 0));
  assert.equal(Number(hourly.total?.errors), acme.filter((r) => !r.outcome?.ok).length);
  const daily = await client.getUsage({ period: auditv1.UsagePeriod.DAY, ...range }, as);
  // 22:00-23:59 on the 20th (121 calls), the rest on the 21st.
  assert.deepEqual(daily.buckets.map((b) => [timestampDate(b.start!).toISOString(), Number(b.calls)]), [
    ["2026-11-20T00:00:00.000Z", 121],
    ["2026-11-21T00:00:00.000Z", 130],
  ]);
  const byCluster = await client.getUsage({ period: auditv1.UsagePeriod.DAY, byCluster: true, ...range }, as);
  assert.equal(byCluster.buckets.length, 4);
  assert.equal(byCluster.buckets.filter((b) => b.clusterId === "c2").reduce((s, b) => s + Number(b.calls), 0), acme.filter((r) => r.clusterId === "c2").length);
  const c2 = await client.getUsage({ period: auditv1.UsagePeriod.HOUR, clusterId: "c2", ...range }, as);
  assert.equal(Number(c2.total?.calls), acme.filter((r) => r.clusterId === "c2").length);
  const globexUsage = await client.getUsage({ period: auditv1.UsagePeriod.DAY, ...range }, { tenantId: "globex" });
  assert.equal(Number(globexUsage.total?.calls), 30);
  await assert.rejects(client.getUsage({ period: auditv1.UsagePeriod.HOUR }, as), (e: DaaluError) => e.reason === "INVALID_AUDIT_QUERY");

  // The same API over gRPC.
  const grpc = createAuditGrpcClient(`127.0.0.1:${audit!.grpcPort}`);
  t.after(async () => grpc.close());
  const gp = await grpc.queryCalls({ pageSize: 5, clusterId: "c1" }, as);
  assert.equal(gp.calls.length, 5);
  assert.ok(gp.nextPageToken);
  assert.ok(gp.calls.every((c) => c.clusterId === "c1" && c.tenantId === "acme"));
});
