import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { edgev1 } from "@daalu/proto";
import { createLogger, grpc } from "@daalu/runtime";
import { eventually, stopsChanging } from "@daalu/testing";
import { EDGE_PROXY_USER, defaultPolicy, startKubeDouble, type KubeDouble } from "@daalu/kube-double";
import { startProxyServer, type RawProxyClient } from "./helpers.js";

// The edge's Proxy RPC against the kube-double, over a loopback gRPC server
// (the tunnel's stand-in): verbatim status/body, refusals, streaming, cancel.

let kube: KubeDouble;
let proxy: Awaited<ReturnType<typeof startProxyServer>>;
let client: RawProxyClient;

before(async () => {
  kube = await startKubeDouble();
  proxy = await startProxyServer({ apiServer: { server: kube.url, ca: kube.ca!, token: "edge-proxy-token" }, targets: { kubeversion: { url: kube.url.replace("https:", "http:"), pathPrefixes: ["/nothing"] } }, ownNamespace: "daalu-edge", logger: createLogger("edge", "silent") });
  client = proxy.client;
});
after(async () => {
  proxy?.close();
  await kube?.close();
});

function call(req: Partial<{ method: string; path: string; target: string; headers: { name: string; value: string }[]; body: Uint8Array }>, deadlineMs = 5_000) {
  return client["proxy"]!(create(edgev1.ProxyRequestSchema, { target: "kubernetes", method: "GET", ...req }), new grpc.Metadata(), { deadline: Date.now() + deadlineMs });
}

async function collect(s: grpc.ClientReadableStream<edgev1.ProxyResponse>): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  let status = 0;
  const headers: Record<string, string> = {};
  const parts: Buffer[] = [];
  for await (const m of s as AsyncIterable<edgev1.ProxyResponse>) {
    if (m.frame.case === "head") {
      status = m.frame.value.status;
      for (const h of m.frame.value.headers) headers[h.name] = h.value;
    } else if (m.frame.case === "chunk") parts.push(Buffer.from(m.frame.value.data));
  }
  return { status, headers, body: Buffer.concat(parts).toString() };
}

test("a list goes upstream with the edge's proxy token and comes back verbatim", async () => {
  const r = await collect(call({ path: "/api/v1/namespaces/default/pods", headers: [{ name: "Accept", value: "application/json" }, { name: "Authorization", value: "Bearer admin-token" }] }));
  assert.equal(r.status, 200);
  assert.match(r.headers["content-type"] ?? "", /application\/json/);
  const body = JSON.parse(r.body);
  assert.equal(body.kind, "PodList");
  assert.ok(body.items.length > 0);
  // The caller's Authorization never reaches the API server: the edge spoke as its proxy ServiceAccount.
  const last = kube.requests.filter((q) => q.path === "/api/v1/namespaces/default/pods").at(-1);
  assert.equal(last?.user, EDGE_PROXY_USER);
});

test("RBAC Forbidden comes back as the API server's Status, byte for byte", async () => {
  const r = await collect(call({ path: "/api/v1/namespaces/default/secrets" }));
  assert.equal(r.status, 403);
  const s = JSON.parse(r.body);
  assert.equal(s.kind, "Status");
  assert.equal(s.reason, "Forbidden");
  assert.match(s.message, /secrets is forbidden: User "system:serviceaccount:daalu-edge:daalu-edge-proxy" cannot list resource "secrets"/);
});

test("the edge's own Secrets get a 403 Status from the edge even where RBAC would allow them, and never go upstream", async (t) => {
  kube.setRbac(EDGE_PROXY_USER, [...defaultPolicy()[EDGE_PROXY_USER]!, { apiGroups: [""], resources: ["secrets"], verbs: ["get", "list", "watch"] }]);
  t.after(() => kube.setRbac(EDGE_PROXY_USER, defaultPolicy()[EDGE_PROXY_USER]!));
  kube.store.put({ apiVersion: "v1", kind: "Secret", metadata: { name: "daalu-edge-tunnel", namespace: "daalu-edge" }, type: "Opaque", data: { "private-key": "bmV2ZXItc2VydmVk" } });
  const accepts = ["application/json", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json", "application/vnd.kubernetes.protobuf,application/json"];
  for (const path of ["/api/v1/namespaces/daalu-edge/secrets/daalu-edge-tunnel", "/api/v1/namespaces/daalu-edge/%73ecrets/daalu-edge-tunnel", "/api/v1/namespaces/daalu-edge/secrets?watch=1", "/api/v1/secrets", "/api/v1/secrets?watch=true"]) {
    for (const accept of accepts) {
      const before = kube.requests.length;
      const r = await collect(call({ path, headers: [{ name: "Accept", value: accept }] }));
      assert.equal(r.status, 403, path);
      assert.match(r.headers["content-type"] ?? "", /^application\/json/);
      const s = JSON.parse(r.body);
      assert.equal(s.kind, "Status");
      assert.equal(s.reason, "Forbidden");
      assert.match(s.message, /the Daalu edge never serves the Secrets of its own namespace "daalu-edge"/);
      assert.ok(!r.body.includes("bmV2ZXItc2VydmVk"));
      assert.equal(kube.requests.length, before, `${path}: nothing went upstream`);
    }
  }
  // Another namespace's Secret is RBAC's business (granted here).
  assert.equal((await collect(call({ path: "/api/v1/namespaces/shop/secrets/postgres-credentials" }))).status, 200);
});

test("refuses paths outside the Kubernetes API and unknown targets", async () => {
  for (const req of [{ path: "/metrics" }, { path: "/api/../metrics" }, { target: "grafana", path: "/" }, { target: "kubeversion", path: "/version" }]) {
    const before = kube.requests.length;
    await assert.rejects(collect(call(req)), (err: grpc.ServiceError) => err.code === grpc.status.PERMISSION_DENIED, JSON.stringify(req));
    assert.equal(kube.requests.length, before, "nothing went upstream");
  }
});

test("writes get a 405 Status that says the hub is read-only and what to use instead, and never go upstream", async () => {
  for (const req of [{ method: "DELETE", path: "/api/v1/namespaces/default/pods/x" }, { method: "POST", path: "/api/v1/namespaces/default/pods" }, { method: "POST", path: "/apis/authorization.k8s.io/v1/subjectaccessreviews" }, { method: "PUT", path: "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews" }]) {
    const before = kube.requests.length;
    const r = await collect(call(req));
    assert.equal(r.status, 405, JSON.stringify(req));
    const s = JSON.parse(r.body);
    assert.deepEqual([s.kind, s.reason], ["Status", "MethodNotAllowed"]);
    assert.match(s.message, new RegExp(`the Daalu hub is read-only for this cluster and refused ${req.method} ${req.path.replaceAll("/", "\\/")}: .*use a kubeconfig of the cluster itself`));
    assert.equal(kube.requests.length, before, "nothing went upstream");
  }
});

test("access reviews and the health endpoints reach the API server", async () => {
  const review = (path: string, body: object) => collect(call({ method: "POST", path, headers: [{ name: "content-type", value: "application/json" }], body: Buffer.from(JSON.stringify(body)) }));
  const ssar = await review("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", { spec: { resourceAttributes: { verb: "list", resource: "pods", namespace: "shop" } } });
  assert.equal(ssar.status, 201, ssar.body);
  assert.equal(JSON.parse(ssar.body).status.allowed, true);
  const who = await review("/apis/authentication.k8s.io/v1/selfsubjectreviews", {});
  assert.equal(JSON.parse(who.body).status.userInfo.username, EDGE_PROXY_USER, "asked as the proxy account");
  for (const path of ["/readyz?verbose", "/livez", "/healthz", "/readyz/etcd"]) assert.equal((await collect(call({ path }))).status, 200, path);
});

test("logs -f streams, and cancelling the call cancels the API server request", async () => {
  const pods = JSON.parse((await collect(call({ path: "/api/v1/namespaces/default/pods" }))).body);
  const pod = pods.items[0];
  const ns = pod.metadata.namespace, name = pod.metadata.name, container = pod.spec.containers[0].name;
  const open = () => kube.requestCount((q) => q.subresource === "log" && q.status === undefined);
  const s = call({ path: `/api/v1/namespaces/${ns}/pods/${name}/log?container=${container}&follow=true&tailLines=1` }, 60_000);
  const seen: string[] = [];
  s.on("data", (m: edgev1.ProxyResponse) => {
    if (m.frame.case === "chunk") seen.push(Buffer.from(m.frame.value.data).toString());
  });
  s.on("error", () => undefined);
  await eventually(() => assert.equal(open(), 1));
  kube.appendLog(ns, name, container, "hello through the tunnel");
  await eventually(() => assert.match(seen.join(""), /hello through the tunnel/));
  s.cancel();
  await eventually(() => assert.equal(open(), 0));
});

test("a slow reader pauses the upstream response instead of buffering it", async () => {
  const pods = JSON.parse((await collect(call({ path: "/api/v1/namespaces/default/pods" }))).body);
  const pod = pods.items[0];
  const ns = pod.metadata.namespace, name = pod.metadata.name, container = pod.spec.containers[0].name;
  const s = call({ path: `/api/v1/namespaces/${ns}/pods/${name}/log?container=${container}&follow=true&tailLines=0` }, 180_000);
  s.on("error", () => undefined);
  // Read as the tunnel-proxy does: take a message, pause, resume once the requester granted credit
  // (here: not until the assertion). Not s.pause() before the first read: a grpc-js client call
  // that was never asked to read keeps its HTTP/2 stream flowing and piles every message up in an
  // unbounded array, so the edge would see a fast reader and (rightly) send it everything.
  let credit = false;
  let got = 0;
  s.on("data", (m: edgev1.ProxyResponse) => {
    if (m.frame.case === "chunk") got += m.frame.value.data.length;
    if (!credit) s.pause();
  });
  await eventually(() => assert.equal(kube.requestCount((q) => q.subresource === "log" && q.status === undefined), 1));
  // 32 MiB of log lines while nobody reads: flow control must stop it well short of all.
  // (Not 8: loopback TCP buffers autotune to several MiB per connection and
  // direction, and two connections lie between the API server and us, so
  // the kernel alone could hold 8 MiB on a busy machine.)
  const TOTAL = 32 * 1024 * 1024;
  const line = "x".repeat(1023);
  for (let i = 0; i < TOTAL / 1024; i++) kube.appendLog(ns, name, container, line);
  // Wait until the bytes stop moving: every buffer between the API server and the paused reader
  // (kernel, edge, gRPC, client) is full. Backpressure reached the API server: most of it is still
  // queued there, so everything downstream (the client's buffer included) holds less than half.
  // Without backpressure the edge would read it all, and the queue would settle near zero.
  const unsent = await stopsChanging(() => kube.unsentStreamBytes());
  const openLogs = kube.requestCount((q) => q.subresource === "log" && q.status === undefined);
  assert.ok(unsent > TOTAL / 2, `only ${unsent} bytes wait at the API server (open log streams: ${openLogs})`);
  credit = true;
  s.resume();
  // 32 MiB through TLS, HTTP and gRPC in this one process took over 30 s on a loaded 2-core machine.
  await eventually(() => assert.ok(got >= TOTAL - 1, `${got}`), { timeoutMs: 120_000 });
  s.cancel();
});
