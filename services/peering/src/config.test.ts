import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError } from "@daalu/runtime";
import { DEFAULT_INVITE_CHART_VERSION } from "@daalu/invite";
import { DEFAULT_EDGE_MIN_VERSION, loadConfig } from "./config.js";

const base = { PEERING_HUB_PRIVATE_KEY_FILE: "/run/secrets/hub.key" };

test("edge releases: by default the chart version the hub serves, the first release as the minimum", () => {
  const r = loadConfig(base).edgeReleases;
  assert.deepEqual([r.current, r.minimum], [DEFAULT_INVITE_CHART_VERSION, DEFAULT_EDGE_MIN_VERSION]);
  assert.equal(r.upgradeCommand, `helm upgrade daalu-edge daalu-edge --repo http://127.0.0.1:8080/charts --version ${DEFAULT_INVITE_CHART_VERSION} -n daalu-edge --reuse-values`);
});

test("edge releases and the chart the upgrade command names are configurable", () => {
  const r = loadConfig({ ...base, PEERING_EDGE_CURRENT_VERSION: "0.3.0", PEERING_EDGE_MIN_VERSION: "0.2.0", PEERING_HUB_URL: "https://hub.example.com" }).edgeReleases;
  assert.deepEqual(r, { current: "0.3.0", minimum: "0.2.0", upgradeCommand: "helm upgrade daalu-edge daalu-edge --repo https://hub.example.com/charts --version 0.3.0 -n daalu-edge --reuse-values" });
  const oci = loadConfig({ ...base, PEERING_EDGE_CHART_REF: "oci://registry.example.com/charts/daalu-edge" }).edgeReleases;
  assert.match(oci.upgradeCommand, /^helm upgrade daalu-edge oci:\/\/registry\.example\.com\/charts\/daalu-edge --version /);
});

test("edge releases that are not SemVer, a minimum newer than the current release, or an unsafe URL are refused together", () => {
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig({ ...base, ...env });
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    return [];
  };
  assert.match(problems({ PEERING_EDGE_CURRENT_VERSION: "latest" }).join("\n"), /PEERING_EDGE_CURRENT_VERSION must be a SemVer version/);
  assert.match(problems({ PEERING_EDGE_MIN_VERSION: "0.4.0" }).join("\n"), /PEERING_EDGE_MIN_VERSION 0\.4\.0 is newer than PEERING_EDGE_CURRENT_VERSION/);
  const both = problems({ PEERING_HUB_URL: "http://h x", PEERING_EDGE_CHART_REF: "a;b" });
  assert.ok(["PEERING_HUB_URL", "PEERING_EDGE_CHART_REF"].every((n) => both.some((p) => p.startsWith(n))), both.join("\n"));
});

test("several hub nodes: PEERING_HUB_ENDPOINTS in order (PEERING_HUB_ENDPOINT its one-item form), the node's id and stale threshold", () => {
  const one = loadConfig({ ...base, PEERING_HUB_ENDPOINT: "hub.example.com:51820" });
  assert.deepEqual([one.hubEndpoint, one.hubEndpoints], ["hub.example.com:51820", ["hub.example.com:51820"]]);
  const many = loadConfig({ ...base, PEERING_HUB_ENDPOINTS: "a.example.com:51820, 192.0.2.2:51821" });
  assert.deepEqual([many.hubEndpoint, many.hubEndpoints], ["a.example.com:51820", ["a.example.com:51820", "192.0.2.2:51821"]]);
  const node = loadConfig({ ...base, PEERING_WG: "on", PEERING_NODE_ID: "hub-b", PEERING_NODE_ENDPOINT: "192.0.2.2:51821", PEERING_HEALTH_INTERVAL: "500ms" }).hubNode!;
  assert.deepEqual([node.nodeId, node.nodeName, node.nodeEndpoint, node.nodeStaleAfterMs], ["hub-b", "hub-b", "192.0.2.2:51821", 1_500]);
  assert.throws(() => loadConfig({ ...base, PEERING_HUB_ENDPOINTS: "a.example.com:51820,no-port" }), /PEERING_HUB_ENDPOINTS: "no-port" is not host:port/);
  assert.throws(() => loadConfig({ ...base, PEERING_WG: "on", PEERING_NODE_ID: "hub b" }), /PEERING_NODE_ID must be/);
  // Rebalancing: 2 clusters a second by default, 0 turns it off, a negative rate is refused.
  assert.equal(node.rebalancePerSecond, 2);
  assert.equal(loadConfig({ ...base, PEERING_WG: "on", PEERING_REBALANCE_PER_SECOND: "0" }).hubNode!.rebalancePerSecond, 0);
  assert.throws(() => loadConfig({ ...base, PEERING_WG: "on", PEERING_REBALANCE_PER_SECOND: "-1" }), /PEERING_REBALANCE_PER_SECOND/);
});
