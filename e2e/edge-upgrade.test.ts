/**
 * An edge upgrade with real WireGuard (e2e/tunnel-world.ts), as `helm upgrade
 * --reuse-values` does it: the agent pod is replaced by one of another
 * version that reads the SAME Secret (no second bootstrap, same key, same
 * tunnel address). The hub offers 0.3.0 and supports 0.2.0 and newer; the
 * edge runs as 0.1.0 (unsupported: the diagnostic says so), then 0.2.0
 * (update available), then 0.3.0 (current). Each time the row shows the new
 * version with the very status probe that turns it connected again.
 * One build plays every release through EDGE_VERSION_OVERRIDE.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { eventually } from "@daalu/testing";
import { startEdgeRun } from "./edge-host.js";
import { e2eSkipReason } from "./netns.js";
import { connected, secretName, startWorld, type EdgeRun } from "./tunnel-world.js";
import { secretData } from "../edge/test/helpers.js";

const skip = e2eSkipReason();

interface Row {
  status: string;
  tunnelIp: string;
  enrolledAt: string;
  edgeVersion: string | null;
  updateAvailable: boolean;
  edgeSupport: string | null;
  latestEdgeVersion: string;
  minEdgeVersion: string;
  upgradeCommand: string;
  diagnostic: string | null;
}

test("edge upgrade: same Secret, new version on the row with the probe that reconnects it; update_available and unsupported follow", { skip, timeout: 300_000 }, async (t) => {
  const PROBE_MS = 1_000;
  const w = await startWorld(t, 1, { PEERING_PROBE_INTERVAL: `${PROBE_MS}ms`, PEERING_EDGE_CURRENT_VERSION: "0.3.0", PEERING_EDGE_MIN_VERSION: "0.2.0" });
  const e = await w.enroll("upgrade", 0, { EDGE_KEEPALIVE: "1", EDGE_VERSION_OVERRIDE: "0.1.0" });
  await connected(w, [e.clusterId], [e.agent]);
  const row = async () => (await w.hub.api("GET", `/v1/clusters/${e.clusterId}`)).body.cluster as Row;
  const secret = () => JSON.stringify(secretData(w.kube.kube, secretName(0)));
  const upgrade = `helm upgrade daalu-edge daalu-edge --repo ${w.hub.gatewayUrl}/charts --version 0.3.0 -n daalu-edge --reuse-values`;

  // 0.1.0: older than the oldest supported release. Still connected (it answers), flagged with the way out.
  await eventually(async () => assert.equal((await row()).edgeVersion, "0.1.0"), { timeoutMs: 10_000, intervalMs: 100 });
  const first = await row();
  assert.deepEqual(
    [first.status, first.updateAvailable, first.edgeSupport, first.latestEdgeVersion, first.minEdgeVersion, first.upgradeCommand],
    ["connected", true, "unsupported", "0.3.0", "0.2.0", upgrade],
  );
  assert.equal(first.diagnostic, `edge 0.1.0 is older than the oldest supported 0.2.0: upgrade with ${upgrade}`);
  const list = (await w.hub.api("GET", "/v1/clusters")).body.clusters as Array<Row & { id: string }>;
  assert.equal(list.find((c) => c.id === e.clusterId)?.edgeSupport, "unsupported", "the list says it too");
  const blob = await w.hub.api("GET", `/v1/clusters/${e.clusterId}/diagnostics`);
  assert.equal(blob.status, 200, JSON.stringify(blob.body));
  assert.equal(blob.body.diagnostic, first.diagnostic, "the diagnostic blob says it too");
  const secretBefore = secret();

  /** Replaces the agent (SIGTERM, then a new pod with the same env and Secret) and returns the row once connected again. */
  let agent: EdgeRun = e.agent;
  const replaceWith = async (version: string): Promise<{ row: Row; ms: number }> => {
    assert.equal(await agent.stop(10_000), 0, agent.output().slice(-2000));
    await eventually(async () => assert.equal((await row()).status, "disconnected"), { timeoutMs: 5_000, intervalMs: 100 });
    const startedAt = Date.now();
    agent = startEdgeRun(e.host, { ...e.edgeEnv, EDGE_VERSION_OVERRIDE: version });
    const next = agent;
    t.after(() => next.kill());
    // Polled fast: the first read that says connected must already carry the new version.
    let seen: Row | undefined;
    await eventually(
      async () => {
        seen = await row();
        assert.equal(seen.status, "connected");
      },
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    return { row: seen!, ms: Date.now() - startedAt };
  };

  // 0.2.0: supported, an update is available; the version diagnostic is gone.
  const mid = await replaceWith("0.2.0");
  t.diagnostic(`edge 0.1.0 → 0.2.0: row connected with the new version ${mid.ms} ms after the new agent started`);
  assert.deepEqual([mid.row.edgeVersion, mid.row.updateAvailable, mid.row.edgeSupport, mid.row.diagnostic], ["0.2.0", true, "update_available", null]);
  // 0.3.0: current, nothing to do.
  const last = await replaceWith("0.3.0");
  t.diagnostic(`edge 0.2.0 → 0.3.0: row connected with the new version ${last.ms} ms after the new agent started`);
  assert.deepEqual([last.row.edgeVersion, last.row.updateAvailable, last.row.edgeSupport, last.row.diagnostic], ["0.3.0", false, "current", null]);

  // The same tunnel throughout: one enrollment, the same address, the same Secret (no second bootstrap).
  assert.deepEqual([last.row.tunnelIp, last.row.enrolledAt], [first.tunnelIp, first.enrolledAt]);
  assert.equal(last.row.tunnelIp, e.config.tunnelIp);
  assert.equal(secret(), secretBefore, "the tunnel Secret is untouched");
});
