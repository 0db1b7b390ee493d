/**
 * The RBAC split, through the edge's own code: Proxy runs as the proxy
 * ServiceAccount whose token KubeAccess mints (TokenRequest) with the pod's
 * account, never as the pod's account, which may read the tunnel Secret. The
 * kube-double's RBAC is the chart's. The edge's own refusal of its namespace's
 * Secrets is pointed elsewhere here (ownNamespace), so what stops the read is
 * the API server's RBAC alone.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { EDGE_NAMESPACE, EDGE_PROXY_USER, EDGE_TUNNEL_SECRET, EDGE_USER } from "@daalu/kube-double";
import { create } from "@bufbuild/protobuf";
import { edgev1 } from "@daalu/proto";
import { createLogger, grpc } from "@daalu/runtime";
import { KubeAccess } from "../src/adapters/kube.js";
import { loadConfig, type RunConfig } from "../src/config.js";
import { startKube, startProxyServer } from "./helpers.js";

const KEY = "cHJpdmF0ZS1rZXktbmV2ZXItbGVhdmVz"; // base64 of a marker standing for the private key

function call(client: Awaited<ReturnType<typeof startProxyServer>>["client"], path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const s = client["proxy"]!(create(edgev1.ProxyRequestSchema, { target: "kubernetes", method: "GET", path, headers: [{ name: "accept", value: "application/json" }] }), new grpc.Metadata(), {});
    let status = 0;
    let body = "";
    s.on("data", (r: edgev1.ProxyResponse) => {
      if (r.frame.case === "head") status = r.frame.value.status;
      else if (r.frame.case === "chunk") body += Buffer.from(r.frame.value.data).toString();
    });
    s.on("error", reject);
    s.on("end", () => resolve({ status, body }));
  });
}

test("proxied calls run as the proxy ServiceAccount, which the API server refuses the tunnel Secret", async (t) => {
  const k = await startKube();
  t.after(() => k.close());
  k.kube.store.put({ apiVersion: "v1", kind: "Secret", metadata: { name: EDGE_TUNNEL_SECRET, namespace: EDGE_NAMESPACE }, type: "Opaque", data: { "private-key": KEY } });
  const cfg = loadConfig("run", { EDGE_KUBECONFIG: k.edgeKubeconfig, EDGE_NAMESPACE }) as RunConfig;
  const kube = await KubeAccess.open(cfg.kube);
  const proxy = await startProxyServer({ apiServer: await kube.apiServerRef(), ownNamespace: "elsewhere", logger: createLogger("edge", "silent") });
  t.after(() => proxy.close());

  const from = k.kube.requests.length;
  const pods = await call(proxy.client, `/api/v1/namespaces/${EDGE_NAMESPACE}/pods`);
  assert.equal(pods.status, 200, pods.body);
  const secret = await call(proxy.client, `/api/v1/namespaces/${EDGE_NAMESPACE}/secrets/${EDGE_TUNNEL_SECRET}`);
  assert.equal(secret.status, 403);
  assert.ok(!secret.body.includes(KEY), "the key is not in the answer");
  assert.match(JSON.parse(secret.body).message, new RegExp(`^secrets "${EDGE_TUNNEL_SECRET}" is forbidden: User "${EDGE_PROXY_USER}" cannot get resource "secrets"`));
  const users = new Set(k.kube.requests.slice(from).map((r) => r.user));
  assert.deepEqual([...users], [EDGE_PROXY_USER], "every proxied call reached the API server as the proxy account");
  // The token was minted once, by the pod's account, for the proxy account only.
  assert.equal(k.kube.requestCount({ method: "POST", resource: "serviceaccounts", subresource: "token", name: "daalu-edge-proxy", user: EDGE_USER, status: 201 }), 1);
});
