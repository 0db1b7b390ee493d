import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError } from "@daalu/runtime";
import { DEFAULT_AUDIT_BATCH_SIZE, DEFAULT_AUDIT_BATCH_WAIT_MS, loadConfig } from "./config.js";

test("defaults", () => {
  const c = loadConfig({});
  assert.equal(c.grpcAddr, "0.0.0.0:7104");
  assert.equal(c.batchSize, DEFAULT_AUDIT_BATCH_SIZE);
  assert.equal(c.batchWaitMs, DEFAULT_AUDIT_BATCH_WAIT_MS);
  assert.equal(c.serviceName, "audit");
});

test("reads AUDIT_* and disables gRPC with off", () => {
  const c = loadConfig({ AUDIT_GRPC_ADDR: "off", AUDIT_BATCH_SIZE: "100", AUDIT_BATCH_WAIT: "200ms", AUDIT_DB_POOL: "3" });
  assert.equal(c.grpcAddr, undefined);
  assert.equal(c.batchSize, 100);
  assert.equal(c.batchWaitMs, 200);
  assert.equal(c.dbPoolSize, 3);
});

test("reports every problem at once", () => {
  assert.throws(
    () => loadConfig({ AUDIT_GRPC_ADDR: "nope", AUDIT_BATCH_SIZE: "5000", AUDIT_BATCH_WAIT: "soon", AUDIT_DB_POOL: "0" }),
    (e: ConfigError) => e instanceof ConfigError && e.problems.length === 4,
  );
});
