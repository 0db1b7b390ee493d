import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildSchemaTable, renderSchemaTable, type OpenApiDoc } from "./schema-gen.js";
import { fieldRule, kindRule } from "./schema.js";

const here = dirname(fileURLToPath(import.meta.url));
const OPENAPI = resolve(here, "../../../../../testdata/openapi");
const TABLE_FILE = join(here, "schema-table.ts");

function generated(): string {
  const docs = readdirSync(OPENAPI)
    .filter((f) => f.endsWith("_openapi.json"))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(OPENAPI, f), "utf8")) as OpenApiDoc);
  return renderSchemaTable(buildSchemaTable(docs));
}

// `npx tsx schema-table.test.ts --write` regenerates the committed table.
if (process.argv.includes("--write")) writeFileSync(TABLE_FILE, generated());

describe("schema table", () => {
  it("is exactly what schema-gen.ts derives from testdata/openapi (regenerate with --write)", () => {
    assert.equal(readFileSync(TABLE_FILE, "utf8"), generated());
  });

  it("carries the upstream merge keys, key defaults and special scalars", () => {
    const pod = fieldRule(fieldRule(kindRule("apps/v1", "Deployment"), "spec"), "template");
    const podSpec = fieldRule(pod, "spec");
    const containers = fieldRule(podSpec, "containers");
    assert.deepEqual(containers?.keys, ["name"]);
    const container = containers?.items;
    assert.deepEqual(fieldRule(container, "ports"), { keys: ["containerPort", "protocol"], keyDefaults: { containerPort: 0, protocol: "TCP" } });
    assert.deepEqual(fieldRule(container, "env")?.keys, ["name"]);
    assert.deepEqual(fieldRule(container, "volumeMounts")?.keys, ["mountPath"]);
    assert.deepEqual(fieldRule(fieldRule(fieldRule(container, "resources"), "limits"), "cpu"), { scalar: "quantity" });
    const probe = fieldRule(fieldRule(container, "livenessProbe"), "httpGet");
    assert.deepEqual(fieldRule(probe, "port"), { scalar: "int-or-string" });
    assert.deepEqual(fieldRule(podSpec, "volumes")?.keys, ["name"]);
    // Tolerations have no merge key upstream: compared as a whole list.
    assert.equal(fieldRule(podSpec, "tolerations")?.keys, undefined);
    const svcPorts = fieldRule(fieldRule(kindRule("v1", "Service"), "spec"), "ports");
    assert.deepEqual(svcPorts?.keys, ["port", "protocol"]);
    assert.deepEqual(fieldRule(svcPorts?.items, "targetPort"), { scalar: "int-or-string" });
    const strategy = fieldRule(fieldRule(fieldRule(kindRule("apps/v1", "Deployment"), "spec"), "strategy"), "rollingUpdate");
    assert.deepEqual(fieldRule(strategy, "maxSurge"), { scalar: "int-or-string" });
    assert.deepEqual(fieldRule(fieldRule(kindRule("v1", "Pod"), "metadata"), "finalizers"), { set: true });
  });

  it("reaches the pod template of kinds the table lacks (Job, CronJob) and knows nothing of others", () => {
    const job = fieldRule(fieldRule(fieldRule(kindRule("batch/v1", "Job"), "spec"), "template"), "spec");
    assert.deepEqual(fieldRule(job, "containers")?.keys, ["name"]);
    const cron = fieldRule(fieldRule(fieldRule(fieldRule(kindRule("batch/v1", "CronJob"), "spec"), "jobTemplate"), "spec"), "template");
    assert.deepEqual(fieldRule(fieldRule(cron, "spec"), "initContainers")?.keys, ["name"]);
    assert.deepEqual(kindRule("example.com/v1", "Widget"), {});
  });
});
