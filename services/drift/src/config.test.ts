import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError } from "@daalu/runtime";
import { DEFAULT_DRIFT_GRPC_ADDR, loadConfig } from "./config.js";

test("defaults: gRPC on 7105, bundles up to 1 MiB less room for the NATS request, 1,000 documents", () => {
  const c = loadConfig({});
  assert.equal(c.grpcAddr, DEFAULT_DRIFT_GRPC_ADDR);
  assert.equal(c.maxBundleBytes, 1024 * 1024 - 16 * 1024);
  assert.equal(c.maxBundleDocuments, 1000);
  assert.equal(c.dbPoolSize, 4);
  assert.deepEqual([c.readsPerCluster, c.maxChecks, c.tickMs, c.readTimeoutMs, c.listPageSize], [4, 32, 1_000, 15_000, 500]);
  assert.equal(loadConfig({ DRIFT_SCHEDULE_TICK: "0s" }).tickMs, 0, "0: tests drive the schedule");
});

test("every problem at once: a bundle limit above 1 MiB, a bad pool size, gRPC off", () => {
  assert.equal(loadConfig({ DRIFT_GRPC_ADDR: "off" }).grpcAddr, undefined);
  assert.throws(
    () => loadConfig({ DRIFT_MAX_BUNDLE_BYTES: String(2 * 1024 * 1024), DRIFT_DB_POOL: "0" }),
    (err: unknown) => err instanceof ConfigError && /DRIFT_MAX_BUNDLE_BYTES/.test(err.message) && /DRIFT_DB_POOL/.test(err.message),
  );
});
