import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ApiException, AppsV1Api, CoreV1Api, KubeConfig, Watch } from "@kubernetes/client-node";
import { eventually } from "@daalu/testing";
import { BOOTSTRAP_USER, EDGE_NAMESPACE, EDGE_PROXY_SERVICE_ACCOUNT, EDGE_PROXY_USER, EDGE_TUNNEL_SECRET, startKubeDouble, type KubeDouble } from "../src/index.js";

function kubeConfig(double: KubeDouble, token: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "double", server: double.url, caData: Buffer.from(double.ca!).toString("base64"), skipTLSVerify: false }],
    users: [{ name: "sa", token }],
    contexts: [{ name: "double", cluster: "double", user: "sa", namespace: EDGE_NAMESPACE }],
    currentContext: "double",
  });
  return kc;
}

async function status(p: Promise<unknown>): Promise<{ code: number; body: Record<string, unknown> }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiException) return { code: err.code, body: JSON.parse(err.body as string) };
    throw err;
  }
  throw new Error("expected the call to fail");
}

describe("@kubernetes/client-node against the double", () => {
  let double: KubeDouble;
  before(async () => {
    double = await startKubeDouble();
  });
  after(() => double.close());

  test("the bootstrap Job's service account creates, reads and updates its Secret over https with the CA", async () => {
    const core = kubeConfig(double, "bootstrap-token").makeApiClient(CoreV1Api);
    const created = await core.createNamespacedSecret({
      namespace: EDGE_NAMESPACE,
      body: { apiVersion: "v1", kind: "Secret", metadata: { name: "daalu-edge-tunnel" }, type: "Opaque", stringData: { "private-key": "k1", "tunnel-ip": "10.77.0.2" } },
    });
    assert.ok(created.metadata?.uid);
    assert.ok(created.metadata?.resourceVersion);
    const read = await core.readNamespacedSecret({ name: "daalu-edge-tunnel", namespace: EDGE_NAMESPACE });
    assert.equal(Buffer.from(read.data!["tunnel-ip"]!, "base64").toString(), "10.77.0.2");
    assert.equal(read.type, "Opaque");
    assert.equal(read.metadata?.uid, created.metadata?.uid);

    read.data!["tunnel-ip"] = Buffer.from("10.77.0.3").toString("base64");
    const updated = await core.replaceNamespacedSecret({ name: "daalu-edge-tunnel", namespace: EDGE_NAMESPACE, body: read });
    assert.notEqual(updated.metadata?.resourceVersion, created.metadata?.resourceVersion);
    // The test API sees what the client wrote.
    const stored = double.store.get("Secret", EDGE_NAMESPACE, "daalu-edge-tunnel")!;
    assert.equal(Buffer.from(stored["data"]["tunnel-ip"], "base64").toString(), "10.77.0.3");
    assert.equal(double.requestCount({ method: "POST", resource: "secrets", user: BOOTSTRAP_USER, status: 201 }), 1);

    // A stale write is a 409 Conflict, a second create a 409 AlreadyExists.
    const stale = await status(core.replaceNamespacedSecret({ name: "daalu-edge-tunnel", namespace: EDGE_NAMESPACE, body: read }));
    assert.equal(stale.code, 409);
    assert.equal(stale.body["reason"], "Conflict");
    const again = await status(core.createNamespacedSecret({ namespace: EDGE_NAMESPACE, body: { metadata: { name: "daalu-edge-tunnel" }, data: {} } }));
    assert.equal(again.code, 409);
    assert.equal(again.body["message"], 'secrets "daalu-edge-tunnel" already exists');
  });

  test("the bootstrap account may not write secrets elsewhere nor list them", async () => {
    const core = kubeConfig(double, "bootstrap-token").makeApiClient(CoreV1Api);
    const denied = await status(core.createNamespacedSecret({ namespace: "shop", body: { metadata: { name: "x" } } }));
    assert.equal(denied.code, 403);
    assert.deepEqual(denied.body, {
      kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure",
      message: `secrets is forbidden: User "${BOOTSTRAP_USER}" cannot create resource "secrets" in API group "" in the namespace "shop"`,
      reason: "Forbidden", details: { kind: "secrets" }, code: 403,
    });
    const list = await status(core.listNamespacedSecret({ namespace: EDGE_NAMESPACE }));
    assert.equal(list.code, 403);
    assert.equal(double.store.get("Secret", "shop", "x"), undefined);
  });

  test("the edge's proxy account lists deployments and watches pods", async () => {
    const kc = kubeConfig(double, "edge-proxy-token");
    const apps = kc.makeApiClient(AppsV1Api);
    const deps = await apps.listNamespacedDeployment({ namespace: "shop" });
    assert.deepEqual(deps.items.map((d) => d.metadata?.name), ["api", "web", "worker"]);
    const seen: string[] = [];
    const req = await new Watch(kc).watch("/api/v1/namespaces/shop/pods", { resourceVersion: deps.metadata!.resourceVersion! }, (type, obj) => seen.push(`${type} ${obj.metadata.name} ${obj.status?.phase}`), () => undefined);
    try {
      await eventually(() => assert.ok(double.requestCount({ resource: "pods", verb: "watch", user: EDGE_PROXY_USER }) >= 1, "a pods watch open"));
      double.store.update("Pod", "shop", "db-migrate", (p) => (p["status"]["phase"] = "Succeeded"));
      await eventually(() => assert.deepEqual(seen, ["MODIFIED db-migrate Succeeded"]));
    } finally {
      req.abort();
    }
    const forbidden = await status(kc.makeApiClient(CoreV1Api).deleteNamespacedPod({ name: "db-migrate", namespace: "shop" }));
    assert.equal(forbidden.code, 403);
    assert.match(String(forbidden.body["message"]), /^pods "db-migrate" is forbidden: User "system:serviceaccount:daalu-edge:daalu-edge-proxy" cannot delete resource "pods"/);
  });

  test("the edge pod's account mints expiring tokens of the proxy account (TokenRequest), which may not read the tunnel Secret", async () => {
    double.store.put({ apiVersion: "v1", kind: "Secret", metadata: { name: EDGE_TUNNEL_SECRET, namespace: EDGE_NAMESPACE }, type: "Opaque", data: { "private-key": "a2V5" } });
    const pod = kubeConfig(double, "edge-token").makeApiClient(CoreV1Api);
    assert.equal((await pod.readNamespacedSecret({ name: EDGE_TUNNEL_SECRET, namespace: EDGE_NAMESPACE })).data?.["private-key"], "a2V5");
    const tr = await pod.createNamespacedServiceAccountToken({ name: EDGE_PROXY_SERVICE_ACCOUNT, namespace: EDGE_NAMESPACE, body: { spec: { audiences: [], expirationSeconds: 600 } } });
    const token = tr.status!.token;
    const expires = new Date(tr.status!.expirationTimestamp).getTime();
    assert.ok(Math.abs(expires - (Date.now() + 600_000)) < 5_000, `expires in 10 min, got ${tr.status!.expirationTimestamp}`);
    const proxy = kubeConfig(double, token).makeApiClient(CoreV1Api);
    assert.ok((await proxy.listNode()).items.length > 0);
    const denied = await status(proxy.readNamespacedSecret({ name: EDGE_TUNNEL_SECRET, namespace: EDGE_NAMESPACE }));
    assert.equal(denied.code, 403);
    assert.match(String(denied.body["message"]), new RegExp(`User "${EDGE_PROXY_USER}" cannot get resource "secrets"`));
    // Only the proxy account, and not under 10 minutes, as kube-apiserver.
    assert.equal((await status(pod.createNamespacedServiceAccountToken({ name: "daalu-edge-bootstrap", namespace: EDGE_NAMESPACE, body: { spec: { audiences: [] } } }))).code, 403);
    assert.equal((await status(pod.createNamespacedServiceAccountToken({ name: EDGE_PROXY_SERVICE_ACCOUNT, namespace: EDGE_NAMESPACE, body: { spec: { audiences: [], expirationSeconds: 60 } } }))).code, 422);
    assert.equal((await status(proxy.createNamespacedServiceAccountToken({ name: EDGE_PROXY_SERVICE_ACCOUNT, namespace: EDGE_NAMESPACE, body: { spec: { audiences: [] } } }))).code, 403, "the proxy account mints nothing");
  });
});
