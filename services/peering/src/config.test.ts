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
