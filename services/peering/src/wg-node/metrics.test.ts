import { test } from "node:test";
import assert from "node:assert/strict";
import { metricsRegistry } from "@daalu/runtime";
import { recordProbe, trackHubNode } from "./metrics.js";
import { newTracked, type Tracked } from "./tracked.js";

function cluster(id: string, state: Tracked["state"], since: number, lastHandshakeMs: number): Tracked {
  return newTracked({ clusterId: id, tenantId: "acme", name: id, publicKey: `key-${id}`, tunnelIp: "10.0.0.2", enrolledAt: 0, state, since, diagnostic: "", lastHandshakeMs, storedHandshakeMs: 0, apiReachable: true, edgeVersion: "", alert: undefined }, 1000);
}

const sample = async (name: string, labels: string) => {
  const m = await metricsRegistry.getSingleMetric(name)!.get();
  const want = Object.fromEntries(labels.split(",").filter(Boolean).map((kv) => kv.split("=")));
  return m.values.find((v) => Object.entries(want).every(([k, x]) => String(v.labels[k]) === x))?.value;
};

test("tunnel states, handshake ages and outage lengths are read from the tracked clusters at scrape time", async () => {
  const now = Date.now();
  const tracked = [cluster("c1", "connected", now - 60_000, now - 30_000), cluster("c2", "disconnected", now - 1_000_000, now - 1_200_000), cluster("c3", "awaiting_handshake", now, 0)];
  const untrack = trackHubNode("wg-test", () => tracked);
  try {
    assert.equal(await sample("daalu_tunnels", "node=wg-test,state=connected"), 1);
    assert.equal(await sample("daalu_tunnels", "node=wg-test,state=disconnected"), 1);
    assert.equal(await sample("daalu_tunnels", "node=wg-test,state=error"), 0, "every state has a series, zero included");
    const age = (await sample("daalu_tunnel_handshake_age_seconds", "cluster=c1"))!;
    assert.ok(age >= 30 && age < 40, String(age));
    assert.equal(await sample("daalu_tunnel_handshake_age_seconds", "cluster=c3"), undefined, "never handshook: no series");
    assert.ok((await sample("daalu_tunnel_down_seconds", "tenant=acme,cluster=c2"))! >= 1000);
    assert.equal(await sample("daalu_tunnel_down_seconds", "cluster=c1"), 0);
    // A state change shows on the next scrape, with nothing recorded on the sweep path.
    tracked[0]!.state = "error";
    assert.equal(await sample("daalu_tunnels", "node=wg-test,state=error"), 1);
  } finally {
    untrack();
  }
  assert.equal(await sample("daalu_tunnels", "node=wg-test,state=connected"), undefined, "a stopped node reports nothing");
});

test("probes are counted by result with their latency", async () => {
  const count = async () => (await metricsRegistry.getSingleMetric("daalu_tunnel_probe_duration_seconds")!.get()).values.find((v) => (v as { metricName?: string }).metricName === "daalu_tunnel_probe_duration_seconds_count")?.value ?? 0;
  const failedBefore = (await sample("daalu_tunnel_probes_total", "result=failed")) ?? 0;
  const countBefore = await count();
  recordProbe(false, 250);
  recordProbe(true, 12);
  assert.equal(await sample("daalu_tunnel_probes_total", "result=failed"), failedBefore + 1);
  assert.equal(await count(), countBefore + 2);
});
