import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { create, toBinary } from "@bufbuild/protobuf";
import { edgev1 } from "@daalu/proto";
import { bindGrpc, createLogger, grpc } from "@daalu/runtime";
import { eventually, stopsChanging } from "@daalu/testing";
import { EDGE_NAMESPACE, startKubeDouble, type KubeDouble } from "@daalu/kube-double";
import { registerProxy } from "@daalu/edge/proxy";
import { EdgeClients } from "../src/adapters/grpc/edge-client.js";
import type { EdgeProxyCall } from "../src/adapters/grpc/mux-client.js";

// The hub's edge client (EdgeClients) against the edge's real Proxy and
// ProxyMux handlers on a loopback gRPC server (the tunnel's stand-in) and the
// kube-double: many calls on one stream, cancel, deadline, a slow reader, an
// edge restarting mid-call, and an edge of the previous contract (no ProxyMux).

const MUX = `/${edgev1.EdgeService.typeName}/${edgev1.EdgeService.method.proxyMux.name}`;
const PROXY = `/${edgev1.EdgeService.typeName}/${edgev1.EdgeService.method.proxy.name}`;

let kube: KubeDouble;
const clients: EdgeClients[] = [];
const servers: grpc.Server[] = [];

before(async () => {
  kube = await startKubeDouble();
});
after(async () => {
  for (const c of clients) c.close();
  for (const s of servers) s.forceShutdown();
  await kube?.close();
});

/** An edge's gRPC server that counts the calls it gets, per method path. */
async function startEdge(o: { mux?: boolean; port?: number } = {}): Promise<{ addr: string; port: number; server: grpc.Server; calls: (path: string) => number }> {
  const counts = new Map<string, number>();
  const server = new grpc.Server({
    interceptors: [
      (method, call) => {
        counts.set(method.path, (counts.get(method.path) ?? 0) + 1);
        return new grpc.ServerInterceptingCall(call);
      },
    ],
  });
  registerProxy(server, { apiServer: { server: kube.url, ca: kube.ca!, token: "edge-proxy-token" }, ownNamespace: EDGE_NAMESPACE, logger: createLogger("edge", "silent"), ...(o.mux === false ? { mux: false } : {}) });
  const port = await bindGrpc(server, `127.0.0.1:${o.port ?? 0}`);
  servers.push(server);
  return { addr: `127.0.0.1:${port}`, port, server, calls: (p) => counts.get(p) ?? 0 };
}

function hub(): EdgeClients {
  const c = new EdgeClients();
  clients.push(c);
  return c;
}

const request = (path: string) => toBinary(edgev1.ProxyRequestSchema, create(edgev1.ProxyRequestSchema, { target: "kubernetes", method: "GET", path, headers: [{ name: "Accept", value: "application/json" }] }));
const start = (edges: EdgeClients, addr: string, path: string, deadlineMs?: number) => edges.proxy(addr, request(path), () => new grpc.Metadata(), deadlineMs === undefined ? undefined : Date.now() + deadlineMs);

/** Reads a call to its end as the NATS handler does (pause in 'data', resume after). */
function collect(call: EdgeProxyCall): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let status = 0;
    const parts: Buffer[] = [];
    call.on("data", (m) => {
      call.pause();
      if (m.frame.case === "head") status = m.frame.value.status;
      else if (m.frame.case === "chunk") parts.push(Buffer.from(m.frame.value.data));
      setImmediate(() => call.resume());
    });
    call.on("end", () => resolve({ status, body: Buffer.concat(parts).toString() }));
    call.on("error", reject);
  });
}

const get = async (edges: EdgeClients, addr: string, path: string) => collect(await start(edges, addr, path, 10_000));

async function logPath(edges: EdgeClients, addr: string, tail = 0): Promise<{ path: string; ns: string; name: string; container: string }> {
  const pod = JSON.parse((await get(edges, addr, "/api/v1/namespaces/default/pods")).body).items[0];
  const ns = pod.metadata.namespace as string, name = pod.metadata.name as string, container = pod.spec.containers[0].name as string;
  return { path: `/api/v1/namespaces/${ns}/pods/${name}/log?container=${container}&follow=true&tailLines=${tail}`, ns, name, container };
}
const openLogs = () => kube.requestCount((q) => q.subresource === "log" && q.status === undefined);

test("many concurrent calls share one ProxyMux stream, each with its own answer and the edge's policy", async () => {
  const edge = await startEdge();
  const edges = hub();
  const paths = Array.from({ length: 120 }, (_, i) => (i % 3 === 0 ? "/api/v1/namespaces/default/pods" : i % 3 === 1 ? "/api/v1/namespaces/kube-system/secrets" : `/api/v1/namespaces/${EDGE_NAMESPACE}/secrets`));
  const answers = await Promise.all(paths.map((p) => get(edges, edge.addr, p)));
  answers.forEach((a, i) => {
    if (i % 3 === 0) assert.equal(JSON.parse(a.body).kind, "PodList", `call ${i}`);
    // RBAC's Forbidden from the API server, and the edge's own 403 for its Secrets (never sent upstream).
    else assert.equal(a.status, 403, `call ${i}`);
  });
  assert.equal(kube.requestCount((q) => q.namespace === EDGE_NAMESPACE), 0);
  // A path outside the API is refused by the edge with PERMISSION_DENIED, for that call only.
  await assert.rejects(get(edges, edge.addr, "/metrics"), (e: grpc.ServiceError) => e.code === grpc.status.PERMISSION_DENIED);
  assert.equal(edge.calls(MUX), 1);
  assert.equal(edge.calls(PROXY), 0);
});

test("cancel reaches the API server; a deadline ends a call with DEADLINE_EXCEEDED and aborts its request", async () => {
  const edge = await startEdge();
  const edges = hub();
  const logs = await logPath(edges, edge.addr);
  const s = await start(edges, edge.addr, logs.path);
  const seen: string[] = [];
  s.on("data", (m) => {
    if (m.frame.case === "chunk") seen.push(Buffer.from(m.frame.value.data).toString());
  });
  const failed = new Promise<grpc.ServiceError>((resolve) => s.on("error", resolve));
  await eventually(() => assert.equal(openLogs(), 1));
  kube.appendLog(logs.ns, logs.name, logs.container, "hello through the mux");
  await eventually(() => assert.match(seen.join(""), /hello through the mux/));
  s.cancel();
  assert.equal((await failed).code, grpc.status.CANCELLED);
  await eventually(() => assert.equal(openLogs(), 0));

  const d = await start(edges, edge.addr, logs.path, 300);
  d.on("data", () => undefined);
  await assert.rejects(new Promise((_, reject) => d.on("error", reject)), (e: grpc.ServiceError) => e.code === grpc.status.DEADLINE_EXCEEDED);
  await eventually(() => assert.equal(openLogs(), 0));
  assert.equal(edge.calls(MUX), 1);
});

test("slow reader: backpressure reaches the API server, and other calls on the stream go on", async () => {
  const edge = await startEdge();
  const edges = hub();
  const logs = await logPath(edges, edge.addr);
  const s = await start(edges, edge.addr, logs.path);
  s.on("error", () => undefined);
  // Reads as the tunnel-proxy does when its NATS requester has no credit: takes a message and pauses.
  let reading = false;
  let got = 0;
  s.on("data", (m) => {
    if (m.frame.case === "chunk") got += m.frame.value.data.length;
    if (!reading) s.pause();
  });
  await eventually(() => assert.equal(openLogs(), 1));
  // 32 MiB while nobody reads: kernel buffers on two loopback connections could hold several MiB.
  const TOTAL = 32 * 1024 * 1024;
  const line = "x".repeat(1023);
  for (let i = 0; i < TOTAL / 1024; i++) kube.appendLog(logs.ns, logs.name, logs.container, line);
  const unsent = await stopsChanging(() => kube.unsentStreamBytes());
  assert.ok(unsent > TOTAL / 2, `only ${unsent} bytes wait at the API server: the hub or the edge buffered the rest`);
  // The stalled call holds back only itself: another call on the same stream is answered.
  assert.equal(JSON.parse((await get(edges, edge.addr, "/api/v1/namespaces/default/pods")).body).kind, "PodList");
  reading = true;
  s.resume();
  await eventually(() => assert.ok(got >= TOTAL - 1, `${got}`), { timeoutMs: 120_000 });
  s.cancel();
  assert.equal(edge.calls(MUX), 1);
});

test("an edge restarting mid-call fails the call with UNAVAILABLE that says so; the next call opens a new stream", async () => {
  const first = await startEdge();
  const edges = hub();
  const logs = await logPath(edges, first.addr);
  const s = await start(edges, first.addr, logs.path);
  s.on("data", () => undefined);
  const failed = new Promise<grpc.ServiceError>((resolve) => s.on("error", resolve));
  await eventually(() => assert.equal(openLogs(), 1));
  first.server.forceShutdown();
  const err = await failed;
  assert.equal(err.code, grpc.status.UNAVAILABLE);
  assert.match(err.details, /ProxyMux stream/);
  await eventually(() => assert.equal(openLogs(), 0));

  const second = await startEdge({ port: first.port });
  // The channel reconnects with backoff: a call may still find the old connection's failure.
  const a = await eventually(() => get(edges, second.addr, "/api/v1/namespaces/default/pods"), { timeoutMs: 30_000 });
  assert.equal(JSON.parse(a.body).kind, "PodList");
  assert.equal(second.calls(MUX), 1);
});

test("an edge without ProxyMux (the previous contract) is served by Proxy, one call each", async () => {
  const edge = await startEdge({ mux: false });
  const edges = hub();
  const answers = await Promise.all(Array.from({ length: 10 }, () => get(edges, edge.addr, "/api/v1/namespaces/default/pods")));
  for (const a of answers) assert.equal(JSON.parse(a.body).kind, "PodList");
  assert.equal(edge.calls(PROXY), 10);
  const logs = await logPath(edges, edge.addr);
  const s = await start(edges, edge.addr, logs.path);
  s.on("data", () => undefined);
  s.on("error", () => undefined);
  await eventually(() => assert.equal(openLogs(), 1));
  s.cancel();
  await eventually(() => assert.equal(openLogs(), 0));
  assert.equal(edge.calls(PROXY), 12);
});
