/**
 * How a check reads, with the tunnel replaced by a recording reader (the
 * service's `read` option): one list per kind and namespace, a GET per object
 * only where the list is Forbidden, never more than DRIFT_READS_PER_CLUSTER
 * reads of one cluster in flight. Real PostgreSQL and NATS.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { CallerKind } from "@daalu/proto";
import { createLogger } from "@daalu/runtime";
import { setup, type TestEnv } from "@daalu/testing";
import { driftClient, type DriftClient } from "../src/index.js";
import { loadConfig } from "../src/config.js";
import { start, type RunningDrift } from "../src/service.js";

const NAMESPACES = Array.from({ length: 8 }, (_, i) => `ns-${i}`);
const FORBIDDEN = "/api/v1/namespaces/ns-0/configmaps";

describe("drift: the reads of one check", () => {
  let env: TestEnv;
  let svc: RunningDrift;
  let client: DriftClient;
  const paths: string[] = [];
  let inFlight = 0;
  let most = 0;
  const as = { tenantId: "acme", caller: { kind: CallerKind.USER, id: "alice" } };

  before(async () => {
    env = await setup();
    const read = async (_tenant: string, _cluster: string, path: string) => {
      paths.push(path);
      most = Math.max(most, ++inFlight);
      // A read takes a moment, so reads overlap when the check allows it.
      await new Promise((r) => setTimeout(r, 15));
      inFlight--;
      if (path.startsWith(FORBIDDEN)) return { status: 403, body: JSON.stringify({ kind: "Status", message: `configmaps is forbidden: User "proxy" cannot ${path.includes("?") ? "list" : "get"} resource "configmaps"` }) };
      return { status: 200, body: JSON.stringify({ kind: "List", metadata: {}, items: [] }) };
    };
    svc = await start(loadConfig({ ...env.env, DRIFT_GRPC_ADDR: "off", DRIFT_SCHEDULE_TICK: "0s", DRIFT_READS_PER_CLUSTER: "3" }), createLogger("drift", "silent"), { read });
    client = driftClient(env.nc, { prefix: env.prefix });
  });
  after(async () => {
    await svc.stop();
    await env.cleanup();
  });

  it("lists each (kind, namespace) once, GETs only the Forbidden group's objects, at most 3 reads in flight", async () => {
    const cluster = randomUUID();
    const docs = NAMESPACES.flatMap((ns) => [1, 2].map((i) => `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web-${i}\n  namespace: ${ns}\n`));
    docs.push(...[1, 2, 3].map((i) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg-${i}\n  namespace: ns-0\n`));
    await client.putDesiredState({ clusterId: cluster, yaml: docs.join("---\n") }, as);
    await client.setReconciliation({ clusterId: cluster, enabled: true }, as);
    const r = (await client.checkNow({ clusterId: cluster }, as)).report!;
    const lists = paths.filter((p) => p.includes("?limit="));
    assert.equal(lists.length, NAMESPACES.length + 1, lists.join("\n"));
    assert.equal(new Set(lists).size, lists.length, "no group listed twice");
    assert.deepEqual(paths.filter((p) => !p.includes("?")).sort(), [1, 2, 3].map((i) => `${FORBIDDEN}/cfg-${i}`));
    assert.equal(r.reads, paths.length);
    assert.equal(most, 3);
    assert.deepEqual(r.summary, { ...r.summary, missing: 16, unknown: 3 });
    assert.match(r.objects.at(-1)!.error, /cannot get resource "configmaps"/);
  });
});
