import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { auditv1, CallerKind } from "@daalu/proto";
import { eventually } from "@daalu/testing";
import { createAuditClient } from "../src/client.js";
import { at, harness, record } from "./helpers.js";

const T0 = Date.UTC(2026, 10, 21, 10, 0, 0);
const MIN = 60_000;

/** A session's start record (its id is the session's) and its end record. */
function session(tenant: string, cluster: string, i: number, end: { bytesIn: number; bytesOut: number; exit?: { status: string; code: number }; reason: string }) {
  const id = randomUUID();
  const time = at(new Date(T0 + i * MIN));
  const operation = { verb: "create", resource: "pods", subresource: "exec", namespace: "default", name: "web", path: "/api/v1/namespaces/default/pods/web/exec?command=sh" };
  const start = record(tenant, cluster, i, { id, time, operation, outcome: { statusCode: 0, ok: true }, bytesIn: 0n, bytesOut: 0n, session: { sessionId: id, phase: auditv1.SessionPhase.START, command: ["sh"] } });
  const stop = record(tenant, cluster, i, {
    time, operation, outcome: { statusCode: 101, ok: true }, bytesIn: BigInt(end.bytesIn), bytesOut: BigInt(end.bytesOut),
    session: { sessionId: id, phase: auditv1.SessionPhase.END, closeReason: end.reason, endedAt: at(new Date(T0 + i * MIN + 5_000)), ...(end.exit ? { exitStatus: end.exit.status, exitCode: end.exit.code } : {}) },
  });
  return { id, start, stop };
}

test("sessions: metering counts sessions and their bytes per tenant and cluster; the row carries the exit status or only the close reason", async (t) => {
  const { env, publisher } = await harness(t);
  const ok = session("acme", "c1", 0, { bytesIn: 10, bytesOut: 1_000, exit: { status: "Success", code: 0 }, reason: "complete" });
  const failed = session("acme", "c1", 1, { bytesIn: 20, bytesOut: 2_000, exit: { status: "NonZeroExitCode", code: 7 }, reason: "complete" });
  const cut = session("acme", "c2", 2, { bytesIn: 30, bytesOut: 3_000, reason: "the edge's call failed: Connection dropped" });
  const plain = record("acme", "c1", 3, { time: at(new Date(T0 + 3 * MIN)), bytesIn: 1n, bytesOut: 100n });
  const globex = session("globex", "c1", 4, { bytesIn: 40, bytesOut: 4_000, reason: "complete" });
  for (const s of [ok, failed, cut, globex]) await publisher.publish(s.start);
  await publisher.publish(plain);
  // End records after their start records, one of them twice (a redelivery adds nothing).
  for (const s of [ok, failed, cut, globex, ok]) await publisher.publish(s.stop);

  const client = createAuditClient(env.nc, { prefix: env.prefix });
  const as = { tenantId: "acme", caller: { kind: CallerKind.USER, id: "alice" } };
  await eventually(async () => {
    const calls = (await client.queryCalls({ pageSize: 100 }, as)).calls;
    assert.equal(calls.filter((c) => c.session?.state === auditv1.SessionState.COMPLETED).length, 3);
  });
  const calls = (await client.queryCalls({ pageSize: 100 }, as)).calls;
  const byId = (id: string) => calls.find((c) => c.id === id)!.session!;
  assert.deepEqual([byId(ok.id).exitStatus, byId(ok.id).exitCode], ["Success", 0]);
  assert.deepEqual([byId(failed.id).exitStatus, byId(failed.id).exitCode], ["NonZeroExitCode", 7]);
  assert.equal(byId(cut.id).exitStatus, "", "no Status seen: no exit status");
  assert.match(byId(cut.id).closeReason, /Connection dropped/);

  const range = { since: at(new Date(T0 - 60 * MIN)), until: at(new Date(T0 + 60 * MIN)) };
  const usage = await client.getUsage({ period: auditv1.UsagePeriod.HOUR, byCluster: true, ...range }, as);
  const c1 = usage.buckets.find((b) => b.clusterId === "c1")!;
  const c2 = usage.buckets.find((b) => b.clusterId === "c2")!;
  assert.deepEqual([Number(c1.sessions), Number(c1.calls), Number(c1.bytesIn), Number(c1.bytesOut)], [2, 3, 10 + 20 + 1, 1_000 + 2_000 + 100], "c1: two sessions and a plain call");
  assert.deepEqual([Number(c2.sessions), Number(c2.calls), Number(c2.bytesIn), Number(c2.bytesOut)], [1, 1, 30, 3_000], "c2: one session");
  assert.equal(Number(usage.total?.sessions), 3, "acme's total, not globex's");
  await eventually(async () => {
    const g = await client.getUsage({ period: auditv1.UsagePeriod.HOUR, ...range }, { tenantId: "globex" });
    assert.deepEqual([Number(g.total?.sessions), Number(g.total?.bytesOut)], [1, 4_000]);
  });
});
