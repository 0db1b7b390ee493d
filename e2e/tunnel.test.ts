/**
 * The full tunnel flow with real WireGuard: peering with its hub node
 * (PEERING_WG) runs in a hub namespace (PostgreSQL and NATS reached through
 * relays), each edge agent (`bootstrap`, then `run`) in its own namespace
 * joined by veth, wireguard-go on both sides.
 *
 * Every test builds its own world (namespaces with this run's random id,
 * interface names from `net.ifname()`, a free gateway port), so two e2e files
 * can run side by side; WireGuard's 51820 and the edges' probe port are per
 * namespace and never meet. Everything (processes, relays, namespaces with
 * their interfaces and guard routes, UAPI sockets) is removed in `t.after`
 * and, should the runner die, on process exit (netns.ts). All tunnel traffic
 * stays inside the namespaces: the hub node routes the subnet and hub pools
 * unreachable there, and the namespaces have no default route at all.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { fromBinary } from "@bufbuild/protobuf";
import { peeringv1 } from "@daalu/proto";
import { eventSubject } from "@daalu/runtime";
import { eventually } from "@daalu/testing";
import pg from "pg";
import { ExitCode } from "@daalu/edge";
import { runEdge, secretData } from "../edge/test/helpers.js";
import { getStatusFrom, readyz, startEdgeRun } from "./edge-host.js";
import { e2eSkipReason } from "./netns.js";
import { connected, hubHandshakes, secretName, startWorld, wireguardGoPid } from "./tunnel-world.js";

const skip = e2eSkipReason();

test("tunnel: awaiting_handshake → connected; edge killed and restarted → back within seconds; cluster deleted → tunnel dead, address free", { skip, timeout: 300_000 }, async (t) => {
  const w = await startWorld(t, 1, { PEERING_PROBE_INTERVAL: "1s" });
  const created = await w.hub.api("POST", "/v1/clusters", { name: "prod-eu" });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const clusterId = created.body.cluster.id as string;
  const boot = await runEdge("bootstrap", { EDGE_KUBECONFIG: w.kube.bootstrapKubeconfig, EDGE_NAMESPACE: "daalu-edge", EDGE_SECRET_NAME: secretName(0), EDGE_HUB_URL: w.hub.gatewayUrl, EDGE_BOOTSTRAP_TOKEN: created.body.token });
  assert.equal(boot.code, ExitCode.Ok, boot.output);
  assert.equal(await w.status(clusterId), "AWAITING_HANDSHAKE");

  const [edgeHost] = w.net.edges;
  const kubeconfig = path.join(w.net.dir, "edge-kubeconfig.yaml");
  const edgeEnv = { EDGE_KUBECONFIG: kubeconfig, EDGE_NAMESPACE: "daalu-edge", EDGE_SECRET_NAME: secretName(0), EDGE_WG_INTERFACE: w.net.ifname("de"), EDGE_PROBE_ADDR: "127.0.0.1:8081" };
  const started = Date.now();
  const agent = startEdgeRun(edgeHost!, edgeEnv);
  t.after(() => agent.kill());
  await connected(w, [clusterId], [agent]);
  t.diagnostic(`edge start → CONNECTED in ${Date.now() - started} ms`);
  const config = JSON.parse(secretData(w.kube.kube, secretName(0))!["tunnel.json"]!) as { tunnelIp: string; hubTunnelIp: string };

  // The same token again (another cluster's bootstrap Job) is refused, and the first edge stays.
  const twice = await runEdge("bootstrap", { EDGE_KUBECONFIG: w.kube.bootstrapKubeconfig, EDGE_NAMESPACE: "daalu-edge", EDGE_SECRET_NAME: "someone-else", EDGE_HUB_URL: w.hub.gatewayUrl, EDGE_BOOTSTRAP_TOKEN: created.body.token });
  assert.notEqual(twice.code, ExitCode.Ok, twice.output);
  // Its key was saved before redeeming (state "pending"); it never got a tunnel.
  assert.equal(secretData(w.kube.kube, "someone-else")?.["tunnel.json"], undefined, "no tunnel for the refused edge");

  // Crash: SIGKILL leaves the interface (and wireguard-go) behind; the new process takes it over.
  const hsAtKill = (await hubHandshakes(w)).values().next().value!;
  await agent.kill();
  const restarted = Date.now();
  const again = startEdgeRun(edgeHost!, edgeEnv);
  t.after(() => again.kill());

  // The clock: the hub's own record of the new handshake (wg latest-handshakes,
  // 1 s resolution), so the test's polling (each GetStatus spawns a client)
  // is not counted; the edge process's start-up is.
  await eventually(async () => assert.ok((await hubHandshakes(w)).values().next().value! > hsAtKill, "a new handshake"), { timeoutMs: 20_000, intervalMs: 200 });
  const backMs = (await hubHandshakes(w)).values().next().value! - restarted;
  await again.ready;
  await eventually(async () => assert.equal((await readyz(edgeHost!)).status, 200), { timeoutMs: 10_000, intervalMs: 200 });
  // A probe that hit the restart window shows ERROR (the edge did not answer); the next one clears it.
  await eventually(async () => assert.equal(await w.status(clusterId), "CONNECTED"), { timeoutMs: 10_000, intervalMs: 200 });
  await eventually(async () => assert.equal((await getStatusFrom(w.net.hub, config)).ok, true, "the hub reaches the restarted edge"), { timeoutMs: 10_000, intervalMs: 200 });
  t.diagnostic(`edge restart → new handshake after ${backMs} ms (edge process start-up included), serving after ${Date.now() - restarted} ms`);
  // Typically 3-8 s, most of it Node loading the agent (@kubernetes/client-node
  // alone is ~3 s of CPU); 15 s leaves room for a CI machine running two test files.
  assert.ok(backMs < 15_000, `back within seconds (${backMs} ms)`);

  // The downloadable diagnostic blob, from the hub node holding the tunnel, through the REST API.
  const diag = await w.hub.api("GET", `/v1/clusters/${clusterId}/diagnostics`);
  assert.equal(diag.status, 200, JSON.stringify(diag.body));
  assert.equal(diag.body.clusterId, clusterId, "the blob names its cluster");
  assert.match(String(diag.body.peerFingerprint), /^[0-9a-f]{16}$/, `peer key fingerprint in ${JSON.stringify(diag.body)}`);
  assert.ok(Number(diag.body.rxBytes) > 0, "counters in the blob");
  assert.ok(diag.body.lastHandshake, `handshake time in ${JSON.stringify(diag.body)}`);

  // Deletion: the hub drops the peer at once, so the tunnel is dead both ways
  // (the hub cannot reach the edge; the edge's handshakes go unanswered), and
  // the address returns to the pool.
  const key = JSON.parse(secretData(w.kube.kube, secretName(0))!["tunnel.json"]!) as { hubPublicKey: string };
  const del = await w.hub.api("DELETE", `/v1/clusters/${clusterId}`);
  assert.equal(del.status, 200, JSON.stringify(del.body));
  const deletedAt = Date.now();
  await eventually(async () => assert.equal((await hubHandshakes(w)).size, 0, "the hub interface has no peer left"), { timeoutMs: 5_000, intervalMs: 100 });
  await eventually(async () => assert.equal((await getStatusFrom(w.net.hub, config)).ok, false), { timeoutMs: 10_000, intervalMs: 300 });
  // The edge's own view: its hub peer's handshake never renews after the deletion.
  const edgeHs = async () => {
    const out = await edgeHost!.exec("wg", ["show", edgeEnv.EDGE_WG_INTERFACE, "latest-handshakes"]);
    const line = out.split("\n").find((l) => l.startsWith(key.hubPublicKey));
    return Number(line?.split("\t")[1] ?? 0) * 1000;
  };
  await new Promise((r) => setTimeout(r, 7_000)); // > EDGE_HUB_SILENCE: the edge has reset and tried to handshake again
  assert.ok((await edgeHs()) < deletedAt, "no handshake with the hub after the deletion");
  const next = await w.hub.api("POST", "/v1/clusters", { name: "prod-eu-2" });
  assert.equal(next.status, 201, JSON.stringify(next.body));
  const boot2 = await runEdge("bootstrap", { EDGE_KUBECONFIG: w.kube.bootstrapKubeconfig, EDGE_NAMESPACE: "daalu-edge", EDGE_SECRET_NAME: "second-tunnel", EDGE_HUB_URL: w.hub.gatewayUrl, EDGE_BOOTSTRAP_TOKEN: next.body.token });
  assert.equal(boot2.code, ExitCode.Ok, boot2.output);
  const reused = JSON.parse(secretData(w.kube.kube, "second-tunnel")!["tunnel.json"]!) as { tunnelIp: string };
  assert.equal(reused.tunnelIp, config.tunnelIp, "the deleted cluster's address was free again");
});

test("tunnel: egress cut → disconnected, exactly one critical alert after the shortened threshold, then recovery", { skip, timeout: 300_000 }, async (t) => {
  // Thresholds in seconds. The edge keepalive is 1 s, so received traffic,
  // not the ~2-minute handshake, is what keeps the cluster connected.
  const DISCONNECT_MS = 4_000;
  const ALERT_MS = 8_000;
  const w = await startWorld(t, 1, { PEERING_DISCONNECT_AFTER: `${DISCONNECT_MS}ms`, PEERING_ALERT_AFTER: `${ALERT_MS}ms` });
  const alerts: Array<{ kind: string; alert: peeringv1.Alert }> = [];
  w.env.nc.subscribe(eventSubject(w.env.prefix, "*", "alert.>"), {
    callback: (_e, m) => {
      alerts.push({ kind: m.subject.split(".").slice(-2).join("."), alert: fromBinary(peeringv1.AlertSchema, m.data) });
    },
  });
  const db = new pg.Client({ connectionString: w.env.databaseUrl });
  db.on("error", () => undefined); // the database is dropped by env.cleanup()
  await db.connect();
  t.after(() => db.end().catch(() => undefined));
  const dbAlerts = async (clusterId: string) =>
    (await db.query<{ id: string; resolved_at: Date | null }>("select id, resolved_at from peering.cluster_alerts where cluster_id = $1 order by raised_at", [clusterId])).rows;

  const e = await w.enroll("egress", 0, { EDGE_KEEPALIVE: "1" });
  await connected(w, [e.clusterId], [e.agent]);

  // Healthy while the latest handshake grows older than the disconnect threshold: still connected, so liveness came
  // from the keepalives. WireGuard may complete one more handshake just after the first (an initiation retransmitted
  // after REKEY_TIMEOUT when its answer was slow on a loaded machine); the window then counts from that one. The next
  // scheduled re-handshake is REKEY_AFTER_TIME (120 s) away, far beyond this window.
  const edgeLog = () => `\n--- edge log:\n${e.agent.output().slice(-3000)}`;
  const latestHandshake = async () => (await hubHandshakes(w)).values().next().value!;
  let hs = await latestHandshake();
  const handshakes = [hs];
  const giveUpAt = Date.now() + DISCONNECT_MS + 20_000;
  while (Date.now() - hs <= DISCONNECT_MS + 1_000) {
    assert.ok(Date.now() < giveUpAt, `the handshake kept renewing (${handshakes.join(", ")})${edgeLog()}`);
    assert.equal(await w.status(e.clusterId), "CONNECTED", `connected with the handshake ${Date.now() - hs} ms old${edgeLog()}`);
    await new Promise((r) => setTimeout(r, 500));
    const latest = await latestHandshake();
    if (latest !== hs) handshakes.push((hs = latest));
  }
  assert.equal(await w.status(e.clusterId), "CONNECTED", "still connected with a handshake older than the threshold");
  assert.ok(handshakes.length <= 2, `at most one handshake after the first (${handshakes.join(", ")})${edgeLog()}`);
  if (handshakes.length > 1) t.diagnostic(`one more handshake ${handshakes[1]! - handshakes[0]!} ms after the first`);
  assert.doesNotMatch(e.agent.output(), /restarting the WireGuard session/, `the healthy hub answered the edge's nudges${edgeLog()}`);

  // Cut: the edge's underlay link goes down. (An edge slower to start than
  // ALERT_MS may have had an alert raised and resolved while awaiting its
  // first handshake: only what follows the cut counts.)
  const before = alerts.length;
  const since = (kind: string) => alerts.slice(before).filter((a) => a.kind === kind);
  const openBefore = (await dbAlerts(e.clusterId)).length;
  const cutAt = Date.now();
  await e.host.cutEgress();
  await eventually(async () => assert.equal(await w.status(e.clusterId), "DISCONNECTED"), { timeoutMs: DISCONNECT_MS + 6_000, intervalMs: 200 });
  const toDisconnected = Date.now() - cutAt;
  t.diagnostic(`egress cut → DISCONNECTED in ${toDisconnected} ms (threshold ${DISCONNECT_MS} ms)`);
  assert.ok(toDisconnected >= DISCONNECT_MS - 1_000, `not before the threshold (${toDisconnected} ms)`);
  const row = (await w.hub.api("GET", `/v1/clusters/${e.clusterId}`)).body.cluster;
  assert.match(JSON.stringify(row), /no WireGuard handshake or traffic for/);

  await eventually(() => assert.equal(since("alert.critical").length, 1), { timeoutMs: ALERT_MS + 6_000, intervalMs: 200 });
  const toAlert = Date.now() - cutAt;
  t.diagnostic(`egress cut → alert.critical in ${toAlert} ms (threshold ${ALERT_MS} ms)`);
  assert.ok(toAlert >= ALERT_MS - 1_000, `not before the threshold (${toAlert} ms)`);
  const raised = since("alert.critical")[0]!.alert;
  assert.equal(raised.clusterId, e.clusterId);
  assert.equal(raised.severity, peeringv1.AlertSeverity.CRITICAL);
  assert.match(raised.summary, /no WireGuard handshake or traffic for/);
  // Still down for several sweeps: no second alert, one open row.
  await new Promise((r) => setTimeout(r, 2_000));
  assert.equal(since("alert.critical").length, 1);
  const open = (await dbAlerts(e.clusterId)).slice(openBefore);
  assert.equal(open.length, 1);
  assert.equal(open[0]!.id, raised.id);
  assert.equal(open[0]!.resolved_at, null);

  // Restore: the edge's handshake gets through again; connected, alert resolved.
  const restoredAt = Date.now();
  await e.host.restoreEgress();
  await eventually(async () => assert.equal(await w.status(e.clusterId), "CONNECTED"), { timeoutMs: 20_000, intervalMs: 200 });
  await eventually(() => assert.equal(since("alert.resolved").length, 1), { timeoutMs: 5_000, intervalMs: 100 });
  t.diagnostic(`egress restored → CONNECTED in ${Date.now() - restoredAt} ms`);
  assert.equal(since("alert.resolved")[0]!.alert.id, raised.id);
  const closed = (await dbAlerts(e.clusterId)).slice(openBefore);
  assert.equal(closed.length, 1);
  assert.ok(closed[0]!.resolved_at instanceof Date, "resolved in the database");
  assert.equal(since("alert.critical").length, 1, "still exactly one critical alert");
});

/*
 * Hub restart with the production defaults on the edge (EDGE_HUB_NUDGE 2 s,
 * EDGE_HUB_SILENCE 6 s, keepalive 25 s) and the hub's default 10 s probe:
 *
 * - peering SIGKILLed, its wireguard-go survives: the new node takes the
 *   device over without replace_peers, so sessions survive and the edges do
 *   not notice.
 * - peering and its wireguard-go SIGKILLed: the new device has the peers (from
 *   PostgreSQL) but no sessions and no endpoints (the hub never initiates).
 *   Each edge knocks on the quiet hub every 2 s (a TCP SYN to the hub's tunnel
 *   address, which a live hub answers with a RST); after 6 s with nothing back
 *   it resets its session and its next keepalive handshakes with the new
 *   device. Production recovery: ≤ ~7 s after the hub went silent, or at most
 *   one WireGuard handshake retry (5 s) after the hub is back if it took
 *   longer to start. Without the nudge, keepalives alone never notice and
 *   WireGuard waits for the 2-minute rekey.
 */
test("tunnel: hub node restarted → every edge connected again within 10 s", { skip, timeout: 150_000 }, async (t) => {
  const w = await startWorld(t, 2);
  const edges = [await w.enroll("restart-a", 0), await w.enroll("restart-b", 1)];
  await connected(
    w,
    edges.map((e) => e.clusterId),
    edges.map((e) => e.agent),
  );

  /** Every edge has a session on the hub's current device (handshake since `since`) and its row says CONNECTED. */
  const allBack = (since: number) => async () => {
    const hs = await hubHandshakes(w);
    assert.equal(hs.size, edges.length);
    assert.ok([...hs.values()].every((v) => v >= since), "every peer has a session on this device");
    for (const e of edges) assert.equal(await w.status(e.clusterId), "CONNECTED");
  };
  /** And EdgeService answers through each tunnel (slow: spawns a client in the hub namespace, so checked after the clock stops). */
  const allReached = () =>
    eventually(
      async () => {
        const reached = await Promise.all(edges.map((e) => getStatusFrom(w.net.hub, e.config)));
        assert.ok(reached.every((r) => r.ok), `the hub reaches every edge through the tunnel: ${JSON.stringify(reached.map((r) => r.code ?? "ok"))}`);
      },
      { timeoutMs: 15_000, intervalMs: 250 },
    );

  // 1. peering SIGKILLed. Its wireguard-go either lives on and is taken over
  //    (sessions kept) or dies of SIGPIPE on its next log line to the dead
  //    parent (sessions lost); either way every edge is back.
  const wgBefore = wireguardGoPid(w.hubIface);
  assert.ok(wgBefore, "the hub's wireguard-go runs");
  const hsBefore = await hubHandshakes(w);
  const killed1 = Date.now();
  await w.peering.kill();
  await w.restartPeering();
  const ready1 = Date.now();
  await eventually(allBack(Math.min(...hsBefore.values())), { timeoutMs: 10_000, intervalMs: 200 });
  const back1 = Date.now();
  const takenOver = wireguardGoPid(w.hubIface) === wgBefore;
  t.diagnostic(`peering killed (wireguard-go ${takenOver ? "survived, taken over" : "died with it"}): ready ${ready1 - killed1} ms after the kill, every edge back ${back1 - ready1} ms after ready`);
  assert.ok(back1 - ready1 <= 10_000, `every edge back within 10 s of the restart (${back1 - ready1} ms)`);
  await allReached();

  // 2. peering and its wireguard-go SIGKILLed: a hub host crash.
  const wg = wireguardGoPid(w.hubIface)!;
  await w.peering.kill();
  const killedAt = Date.now();
  process.kill(wg, "SIGKILL");
  await eventually(() => assert.equal(wireguardGoPid(w.hubIface), undefined), { timeoutMs: 5_000, intervalMs: 50 });
  await w.restartPeering();
  const ready = Date.now();
  await eventually(allBack(killedAt), { timeoutMs: 10_000, intervalMs: 200 });
  const back = Date.now();
  t.diagnostic(`peering + wireguard-go killed: ready ${ready - killedAt} ms after the kill, every edge back ${back - ready} ms after ready (${back - killedAt} ms after the kill)`);
  assert.ok(back - ready <= 10_000, `every edge back within 10 s of the restart (${back - ready} ms)`);
  await allReached();
  for (const e of edges) assert.match(e.agent.output(), /restarting the WireGuard session/, "the edge noticed the silent hub itself");
});
