/**
 * The clean goodbye with real WireGuard (e2e/tunnel-world.ts): an edge stopped
 * with SIGTERM (what `helm uninstall`, a pod deletion or an eviction sends)
 * tells the hub node through the tunnel that it is leaving
 * (EdgeLifecycleService.Goodbye) and deletes its interface; the row turns
 * DISCONNECTED at once with the shutdown diagnostic and the event is
 * published. A new edge (the restarted pod) brings it back with no alert. An
 * edge that dies without a word (SIGKILL of the agent and its wireguard-go:
 * a node lost) still follows the thresholds, shortened here by config.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { fromBinary } from "@bufbuild/protobuf";
import { peeringv1 } from "@daalu/proto";
import { eventSubject } from "@daalu/runtime";
import { eventually } from "@daalu/testing";
import { startEdgeRun } from "./edge-host.js";
import { e2eSkipReason } from "./netns.js";
import { connected, startWorld, wireguardGoPid } from "./tunnel-world.js";

const skip = e2eSkipReason();
const GOODBYE = /^edge stopped at \d{4}-\d\d-\d\dT[\d:.]+Z \(helm uninstall, pod deletion or eviction\)$/;

test("goodbye: SIGTERM → disconnected within 5 s with the shutdown diagnostic; restart → connected, no alert; SIGKILL → the thresholds", { skip, timeout: 300_000 }, async (t) => {
  const DISCONNECT_MS = 6_000;
  const ALERT_MS = 12_000;
  const w = await startWorld(t, 1, { PEERING_DISCONNECT_AFTER: `${DISCONNECT_MS}ms`, PEERING_ALERT_AFTER: `${ALERT_MS}ms`, PEERING_PROBE_INTERVAL: "1s" });
  const alerts: peeringv1.Alert[] = [];
  const changes: peeringv1.ClusterEvent[] = [];
  w.env.nc.subscribe(eventSubject(w.env.prefix, "*", "alert.critical"), { callback: (_e, m) => void alerts.push(fromBinary(peeringv1.AlertSchema, m.data)) });
  w.env.nc.subscribe(eventSubject(w.env.prefix, "*", "cluster.>"), {
    callback: (_e, m) => {
      const ev = fromBinary(peeringv1.ClusterEventSchema, m.data);
      if (ev.kind === peeringv1.ClusterEventKind.STATUS_CHANGED) changes.push(ev);
    },
  });
  const e = await w.enroll("goodbye", 0, { EDGE_KEEPALIVE: "1" });
  await connected(w, [e.clusterId], [e.agent]);
  const row = async () => (await w.hub.api("GET", `/v1/clusters/${e.clusterId}`)).body.cluster as { status: string; diagnostic: string };
  const iface = e.edgeEnv.EDGE_WG_INTERFACE!;

  // 1. SIGTERM: the goodbye.
  const alertsBefore = alerts.length;
  const changesBefore = changes.length;
  const termAt = Date.now();
  const exited = e.agent.stop(10_000);
  await eventually(async () => assert.equal((await row()).status, "disconnected"), { timeoutMs: 5_000, intervalMs: 100 });
  const toRed = Date.now() - termAt;
  t.diagnostic(`SIGTERM → row DISCONNECTED in ${toRed} ms`);
  assert.equal(await exited, 0, e.agent.output().slice(-2000));
  const exitedMs = Date.now() - termAt;
  assert.match((await row()).diagnostic, GOODBYE);
  assert.match(e.agent.output(), /told the hub that the edge is stopping/);
  await assert.rejects(e.host.exec("ip", ["link", "show", iface]), "the edge removed its interface: the tunnel is dead");
  const published = changes.slice(changesBefore).find((c) => c.cluster?.status === peeringv1.ClusterStatus.DISCONNECTED);
  assert.ok(published, "a STATUS_CHANGED event to DISCONNECTED was published");
  assert.match(published.cluster!.diagnostic, GOODBYE);
  t.diagnostic(`SIGTERM → edge exited (goodbye sent, interface deleted) in ${exitedMs} ms`);

  // 2. The pod comes back (a restart, a rolling update): connected again, no critical alert for the gap.
  const restartAt = Date.now();
  const again = startEdgeRun(e.host, e.edgeEnv);
  t.after(() => again.kill());
  await connected(w, [e.clusterId], [again]);
  t.diagnostic(`edge restarted → row CONNECTED again in ${Date.now() - restartAt} ms (red for ${Date.now() - termAt - toRed} ms)`);
  // Nothing may fire once the alert threshold since the goodbye has passed (a "nothing happens" check: waited out).
  const quietUntil = termAt + ALERT_MS + 3_000;
  while (Date.now() < quietUntil) {
    assert.equal((await row()).status, "connected");
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.equal(alerts.length - alertsBefore, 0, "no critical alert for a restart");
  const history = (await w.hub.api("GET", `/v1/clusters/${e.clusterId}/history`)).body as { transitions: Array<{ from: string; to: string; diagnostic: string }> };
  const bye = history.transitions.find((h) => h.to === "disconnected" && GOODBYE.test(h.diagnostic));
  assert.ok(bye, `the goodbye is in the status history: ${JSON.stringify(history)}`);
  assert.equal(bye.from, "connected");

  // 3. Killed without a word (agent and its wireguard-go: the node died): the thresholds, not the goodbye.
  const wg = wireguardGoPid(iface);
  assert.ok(wg, "the edge's wireguard-go runs");
  const killAt = Date.now();
  await again.kill();
  process.kill(wg, "SIGKILL");
  await eventually(async () => assert.equal((await row()).status, "disconnected"), { timeoutMs: DISCONNECT_MS + 6_000, intervalMs: 200 });
  const killToRed = Date.now() - killAt;
  t.diagnostic(`SIGKILL → row DISCONNECTED in ${killToRed} ms (threshold ${DISCONNECT_MS} ms)`);
  // The last keepalive (1 s) came at most ~1 s before the kill.
  assert.ok(killToRed >= DISCONNECT_MS - 1_500, `not before the threshold (${killToRed} ms)`);
  assert.match((await row()).diagnostic, /no WireGuard handshake or traffic for/);
  await eventually(() => assert.equal(alerts.length - alertsBefore, 1), { timeoutMs: ALERT_MS + 6_000, intervalMs: 200 });
  const killToAlert = Date.now() - killAt;
  t.diagnostic(`SIGKILL → one alert.critical in ${killToAlert} ms (threshold ${ALERT_MS} ms)`);
  assert.ok(killToAlert >= ALERT_MS - 1_500, `not before the threshold (${killToAlert} ms)`);
  assert.equal(alerts.at(-1)!.clusterId, e.clusterId);
});
