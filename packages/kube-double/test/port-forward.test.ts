/**
 * pods/portforward over the kubelet's WebSocket protocol, driven by
 * @kubernetes/client-node's PortForward (one WebSocket per TCP connection,
 * as a local listener of a port-forward client opens them) and by a bare
 * WebSocket client for the framing itself.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type http from "node:http";
import net from "node:net";
import { KubeConfig, PortForward } from "@kubernetes/client-node";
import WebSocket from "ws";
import { eventually } from "@daalu/testing";
import { startKubeDouble, type KubeDouble } from "../src/index.js";
import { kubectlFor, type Kubectl } from "./kubectl.js";
import { blob, get, httpTarget, listenOn } from "./http-target.js";

const POD = "nginx";
describe("port-forward against the double", () => {
  let double: KubeDouble;
  let k: Kubectl;
  let app: http.Server;
  let local: net.Server;
  let localPort: number;
  const data = blob();
  const forwards = new Set<{ close(): void }>();

  before(async () => {
    double = await startKubeDouble();
    k = kubectlFor(double);
    app = httpTarget(data);
    double.setPortTarget("default", POD, 80, `127.0.0.1:${await listenOn(app)}`);
    const kc = new KubeConfig();
    kc.loadFromString(double.kubeconfig({ token: "admin-token" }));
    const pf = new PortForward(kc);
    // What a port-forward client's local listener does: one stream to the pod's port per accepted connection.
    local = net.createServer((sock) => {
      void pf.portForward("default", POD, [80], sock, null, sock).then((ws) => {
        const w = ws as WebSocket;
        forwards.add(w);
        w.on("close", () => (sock.end(), forwards.delete(w)));
        sock.on("close", () => w.close());
      }, () => sock.destroy());
    });
    localPort = await listenOn(local);
  });
  after(async () => {
    for (const f of forwards) f.close();
    local.close();
    app.close();
    k.cleanup();
    await double.close();
  });

  test("100 parallel HTTP requests through port-forward all get their own answer", async () => {
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => get(localPort, `/r/${i}`)));
    results.forEach((r, i) => assert.deepEqual([r.status, r.body.toString()], [200, `hello /r/${i}`]));
    await eventually(() => assert.ok(double.sessions({ kind: "portforward", running: false }).length >= 100));
    const s = double.sessions({ kind: "portforward" })[0]!;
    assert.deepEqual([s.ports, s.protocol, s.pod], [[80], "v4.channel.k8s.io", POD]);
  });

  test("a 64 MiB download through port-forward is byte-exact", async () => {
    const started = Date.now();
    const r = await get(localPort, "/blob");
    const seconds = (Date.now() - started) / 1000;
    assert.equal(r.body.length, data.length);
    assert.ok(r.body.equals(data), "downloaded bytes differ");
    console.log(`# 64 MiB via port-forward in ${seconds.toFixed(2)} s (${(64 / seconds).toFixed(0)} MiB/s)`);
  });

  test("framing: the port (2 bytes LE) opens the data and error channels; a port without a target says connection refused", async () => {
    const ws = new WebSocket(`${double.url.replace(/^http/, "ws")}/api/v1/namespaces/default/pods/${POD}/portforward?ports=81`, ["v4.channel.k8s.io"], { ca: double.ca, headers: { Authorization: "Bearer admin-token" } });
    const frames: Buffer[] = [];
    ws.on("message", (m: Buffer) => frames.push(m));
    const closed = new Promise((resolve) => ws.on("close", resolve));
    await closed;
    assert.equal(ws.protocol, "v4.channel.k8s.io");
    assert.deepEqual(frames.slice(0, 2).map((f) => [...f]), [[0, 81, 0], [1, 81, 0]]);
    assert.equal(frames[2]![0], 1);
    assert.match(frames[2]!.subarray(1).toString(), /^error forwarding port 81 to pod nginx, uid : .*connection refused$/);
  });

  test("deleting the pod closes its port-forward streams within 5 s", async () => {
    double.store.put({ apiVersion: "v1", kind: "Pod", metadata: { name: "short-lived", namespace: "default" }, spec: { containers: [{ name: "main", image: "busybox" }] }, status: { phase: "Running" } });
    const echo = net.createServer((s) => s.pipe(s));
    double.setPortTarget("default", "short-lived", 7, `127.0.0.1:${await listenOn(echo)}`);
    try {
      const ws = new WebSocket(`${double.url.replace(/^http/, "ws")}/api/v1/namespaces/default/pods/short-lived/portforward?ports=7`, ["v4.channel.k8s.io"], { ca: double.ca, headers: { Authorization: "Bearer admin-token" } });
      const got: Buffer[] = [];
      ws.on("message", (m: Buffer) => m[0] === 0 && got.push(m.subarray(1)));
      await new Promise((resolve) => ws.on("open", resolve));
      ws.send(Buffer.concat([Buffer.from([0]), Buffer.from("ping")]));
      await eventually(() => assert.equal(Buffer.concat(got).subarray(2).toString(), "ping"));
      const closed = new Promise((resolve) => ws.on("close", resolve));
      const deletedAt = Date.now();
      assert.equal((await k.run(["delete", "pod", "short-lived"])).code, 0);
      await closed;
      assert.ok(Date.now() - deletedAt < 5000);
      assert.equal(double.sessions({ pod: "short-lived" })[0]!.reason, "pod-deleted");
    } finally {
      echo.close();
    }
  });
});
