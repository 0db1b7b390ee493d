import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ConfigError } from "@daalu/runtime";
import { DEFAULT_INVITE_CHART_VERSION, DEFAULT_INVITE_GRPC_ADDR, DEFAULT_INVITE_HUB_URL, DEFAULT_INVITE_TTL_MS, loadConfig } from "./config.js";

test("defaults", () => {
  const c = loadConfig({});
  assert.equal(c.grpcAddr, DEFAULT_INVITE_GRPC_ADDR);
  assert.equal(c.ttlMs, DEFAULT_INVITE_TTL_MS);
  assert.equal(c.ttlMs, 3_600_000);
  assert.equal(c.hubUrl, DEFAULT_INVITE_HUB_URL);
  assert.equal(c.chartRef, undefined, "the hub's own chart repository");
  assert.equal(c.chartVersion, DEFAULT_INVITE_CHART_VERSION);
  assert.equal(c.dbPoolSize, 8);
  assert.equal(c.peeringTimeoutMs, 5_000);
  assert.deepEqual(c.failpoints, []);
});

test("overrides", () => {
  const c = loadConfig({ INVITE_TTL: "200ms", INVITE_GRPC_ADDR: "off", INVITE_HUB_URL: "https://hub.example.com", INVITE_CHART_REF: "oci://r/daalu-edge", INVITE_DB_POOL: "4", DAALU_FAILPOINTS: "invite.redeem.after-burn" });
  assert.equal(c.ttlMs, 200);
  assert.equal(c.grpcAddr, undefined);
  assert.equal(c.hubUrl, "https://hub.example.com");
  assert.equal(c.chartRef, "oci://r/daalu-edge");
  assert.equal(loadConfig({ INVITE_CHART_VERSION: "1.2.3-rc.1" }).chartVersion, "1.2.3-rc.1");
  assert.equal(c.dbPoolSize, 4);
  assert.deepEqual(c.failpoints, ["invite.redeem.after-burn"]);
});

test("every problem is reported at once", () => {
  assert.throws(
    () => loadConfig({ INVITE_TTL: "soon", INVITE_DB_POOL: "0", INVITE_HUB_URL: "http://h x", INVITE_GRPC_ADDR: "nope", INVITE_CHART_REF: "a;b", INVITE_CHART_VERSION: "latest" }),
    (e: ConfigError) =>
      e instanceof ConfigError && ["INVITE_TTL", "INVITE_DB_POOL", "INVITE_HUB_URL", "INVITE_GRPC_ADDR", "INVITE_CHART_REF", "INVITE_CHART_VERSION"].every((n) => e.problems.some((p) => p.startsWith(n))),
  );
});

test("the default chart version is the version of the chart the hub serves (deploy/daalu-edge)", () => {
  const chart = readFileSync(new URL("../../../deploy/daalu-edge/Chart.yaml", import.meta.url), "utf8");
  assert.equal(/^version:\s*"?([^"\s]+)"?\s*$/m.exec(chart)?.[1], DEFAULT_INVITE_CHART_VERSION);
});
