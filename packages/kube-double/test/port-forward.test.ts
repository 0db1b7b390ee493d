/**
 * pods/portforward over the kubelet's WebSocket protocol, driven by
 * @kubernetes/client-node's PortForward (one WebSocket per TCP connection,
 * as a local listener of a port-forward client opens them) and by a bare
 * WebSocket client for the framing itself.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { KubeConfig, PortForward } from "@kubernetes/client-node";
import WebSocket from "ws";
import { eventually } from "@daalu/testing";
import { EDGE_PROXY_USER, startKubeDouble, type KubeDouble } from "../src/index.js";
import { kubectlFor, type Kubectl } from "./kubectl.js";

const POD = "nginx";
const BLOB_BYTES = 64 << 20;

/** Deterministic bytes: block i of 64 KiB is sha256(i) repeated. */
function blob(): Buffer {
  const b = Buffer.alloc(BLOB_BYTES);
  for (let off = 0, i = 0; off < b.length; i++) {
    const h = createHash("sha256").update(String(i)).digest();
    for (let j = 0; j < 2048 && off < b.length; j++, off += h.length) h.copy(b, off);
  }
  return b;
}

const listenOn = (s: net.Server) => new Promise<number>((resolve) => s.listen(0, "127.0.0.1", () => resolve((s.address() as AddressInfo).port)));

function get(port: number, path: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http.get({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    }).on("error", reject);
  });
}

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
    app = http.createServer((req, res) => {
      if (req.url === "/blob") {
        res.writeHead(200, { "Content-Length": data.length });
        res.end(data);
      } else res.end(`hello ${req.url}`);
    });
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

  test("kubectl port-forward: Forbidden verbatim without RBAC; with it, refused because kubectl speaks SPDY (in a WebSocket) for port-forward", async () => {
    const denied = await k.run(["port-forward", POD, "18099:80"], "edge-proxy-token");
    assert.equal(denied.code, 1);
    assert.ok(denied.stderr.includes(`pods "${POD}" is forbidden: User "${EDGE_PROXY_USER}" cannot create resource "pods/portforward" in API group "" in the namespace "default"`), denied.stderr);
    const refused = await k.run(["port-forward", POD, "18099:80"]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /SPDY\/3\.1 is not implemented/);
    // The WebSocket (SPDY tunnelled) attempt, then kubectl's fallback to a SPDY upgrade.
    const tried = double.requests.filter((r) => r.subresource === "portforward" && r.user === "kubernetes-admin").slice(-2).map((r) => `${r.method} ${r.status}`);
    assert.deepEqual(tried, ["GET 400", "POST 400"]);
  });
});
