/** The drift service in-process against real PostgreSQL and NATS, called through its typed NATS client. */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { CallerKind } from "@daalu/proto";
import { Code, DaaluError, createLogger } from "@daalu/runtime";
import { setup, type TestEnv } from "@daalu/testing";
import { driftClient, type DriftClient } from "../src/index.js";
import { loadConfig } from "../src/config.js";
import { start, type RunningDrift } from "../src/service.js";

const logger = createLogger("drift-test", "silent");
const BUNDLE = `apiVersion: apps/v1
kind: StatefulSet
metadata:
  namespace: shop
  name: pg
spec:
  replicas: 2
---
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: shop
stringData:
  password: hunter2
`;

describe("drift service: desired state over NATS", () => {
  let env: TestEnv;
  let svc: RunningDrift;
  let client: DriftClient;
  const as = (tenantId: string) => ({ tenantId, caller: { kind: CallerKind.USER, id: "alice" } });

  before(async () => {
    env = await setup();
    svc = await start(loadConfig({ ...env.env, DRIFT_GRPC_ADDR: "off" }), logger);
    client = driftClient(env.nc, { prefix: env.prefix });
  });
  after(async () => {
    await svc.stop();
    await env.cleanup();
  });

  it("stores a valid upload as version 1, records the uploader, and lists the objects without Secret values", async () => {
    const cluster = randomUUID();
    const put = await client.putDesiredState({ clusterId: cluster, yaml: BUNDLE }, as("acme"));
    assert.equal(put.created, true);
    assert.equal(put.bundle?.version, 1);
    assert.equal(put.bundle?.objectCount, 2);
    assert.equal(put.bundle?.uploadedBy, "user:alice");
    const got = await client.getDesiredState({ clusterId: cluster }, as("acme"));
    assert.deepEqual(
      got.objects.map((o) => [o.apiVersion, o.kind, o.namespace, o.name, o.document, o.line]),
      [
        ["apps/v1", "StatefulSet", "shop", "pg", 1, 1],
        ["v1", "Secret", "shop", "db", 2, 9],
      ],
    );
    assert.doesNotMatch(JSON.stringify(got, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v)), /hunter2/);
    assert.equal((await client.putDesiredState({ clusterId: cluster, yaml: BUNDLE }, as("acme"))).created, false, "the same upload is no new version");
  });

  it("refuses an invalid upload with every problem, naming document and line, and stores nothing", async () => {
    const cluster = randomUUID();
    const bad = `${BUNDLE}---\nkind: ConfigMap\nmetadata:\n  name: cfg\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n`;
    await assert.rejects(client.putDesiredState({ clusterId: cluster, yaml: bad }, as("acme")), (err: unknown) => {
      assert.ok(err instanceof DaaluError);
      assert.equal(err.code, Code.InvalidArgument);
      assert.equal(err.reason, "DESIRED_STATE_INVALID");
      assert.match(err.message, /document 3, line 17: apiVersion is missing; document 4, line 24: metadata\.name "Bad_Name" is not a valid Kubernetes name/);
      return true;
    });
    await assert.rejects(client.getDesiredState({ clusterId: cluster }, as("acme")), (err: unknown) => err instanceof DaaluError && err.reason === "DESIRED_STATE_NOT_FOUND");
  });

  it("keeps tenants apart and serves older versions on request", async () => {
    const cluster = randomUUID();
    await client.putDesiredState({ clusterId: cluster, yaml: BUNDLE }, as("acme"));
    await client.putDesiredState({ clusterId: cluster, yaml: BUNDLE.replace("replicas: 2", "replicas: 3") }, as("acme"));
    assert.equal((await client.getDesiredState({ clusterId: cluster }, as("acme"))).bundle?.version, 2);
    assert.equal((await client.getDesiredState({ clusterId: cluster, version: 1 }, as("acme"))).bundle?.version, 1);
    await assert.rejects(client.getDesiredState({ clusterId: cluster }, as("globex")), (err: unknown) => err instanceof DaaluError && err.code === Code.NotFound);
  });
});
