import { test } from "node:test";
import assert from "node:assert/strict";
import { edgeReleasesProblem, judgeEdgeVersion, withVersionDiagnostic } from "./edge-release.js";

const releases = { current: "0.3.0", minimum: "0.2.0", upgradeCommand: "helm upgrade daalu-edge daalu-edge --repo https://hub/charts --version 0.3.0 -n daalu-edge --reuse-values" };

test("an edge at or above the current release is current; between minimum and current, an update is available", () => {
  assert.deepEqual(judgeEdgeVersion("0.3.0", releases), { support: "current", updateAvailable: false, diagnostic: undefined });
  assert.deepEqual(judgeEdgeVersion("0.4.0-rc.1", releases), { support: "current", updateAvailable: false, diagnostic: undefined });
  assert.deepEqual(judgeEdgeVersion("0.2.0", releases), { support: "update_available", updateAvailable: true, diagnostic: undefined });
  assert.equal(judgeEdgeVersion("0.3.0-rc.1", releases).support, "update_available", "a pre-release sorts before its release");
  assert.equal(judgeEdgeVersion("0.2.10", releases).support, "update_available", "compared as numbers, not text");
});

test("an edge older than the oldest supported version is unsupported, and the diagnostic says how to upgrade", () => {
  const v = judgeEdgeVersion("0.1.0", releases);
  assert.deepEqual([v.support, v.updateAvailable], ["unsupported", true]);
  assert.equal(v.diagnostic, `edge 0.1.0 is older than the oldest supported 0.2.0: upgrade with ${releases.upgradeCommand}`);
  assert.equal(withVersionDiagnostic("", v), v.diagnostic);
  assert.equal(withVersionDiagnostic("Kubernetes API unreachable", v), `Kubernetes API unreachable; ${v.diagnostic}`);
  assert.equal(withVersionDiagnostic("Kubernetes API unreachable", judgeEdgeVersion("0.3.0", releases)), "Kubernetes API unreachable");
});

test("no version or a development build: no claim either way", () => {
  for (const v of ["", "dev-build", "test-edge", "1.2"]) {
    assert.deepEqual(judgeEdgeVersion(v, releases), { support: undefined, updateAvailable: false, diagnostic: undefined }, v);
  }
});

test("the releases must be SemVer and the minimum not newer than the current one", () => {
  assert.equal(edgeReleasesProblem("0.3.0", "0.3.0"), undefined);
  assert.match(edgeReleasesProblem("latest", "0.1.0") ?? "", /PEERING_EDGE_CURRENT_VERSION .*"latest"/);
  assert.match(edgeReleasesProblem("0.3.0", "0.2") ?? "", /PEERING_EDGE_MIN_VERSION .*"0.2"/);
  assert.match(edgeReleasesProblem("0.3.0", "0.4.0") ?? "", /0.4.0 is newer than PEERING_EDGE_CURRENT_VERSION 0.3.0/);
});
