import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError } from "@daalu/runtime";
import { DEFAULT_EDGE_PORT, loadConfig } from "./config.js";

test("defaults, and the override map", () => {
  const c = loadConfig({ TUNNEL_PROXY_EDGE_ADDR_OVERRIDE: "c1=127.0.0.1:9000, c2=[::1]:9001" });
  assert.equal(c.edgePort, DEFAULT_EDGE_PORT);
  assert.deepEqual(c.edgeAddrOverride, { c1: "127.0.0.1:9000", c2: "[::1]:9001" });
});

test("every problem is reported at once", () => {
  assert.throws(
    () => loadConfig({ TUNNEL_PROXY_EDGE_PORT: "0", TUNNEL_PROXY_EDGE_ADDR_OVERRIDE: "nope", TUNNEL_PROXY_UNARY_TIMEOUT: "soon" }),
    (e: ConfigError) => e.problems.length === 3,
  );
});
