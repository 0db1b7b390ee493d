import { test } from "node:test";
import assert from "node:assert/strict";
import { gatewayHarness, http, type Res } from "./helpers.js";

// A cluster's API path on the hub's root (what kubectl before 1.34 sends for
// `get --raw`) gets a Kubernetes Status naming the cause and the fix, while
// the hub's own probes keep answering probes. The real kubectl's side is in
// k8s-kubectl.test.ts ("older kubectl's get --raw …").

const KUBECTL_UA = "kubectl/v1.32.4 (linux/amd64) kubernetes/59526cd";

function assertMisdirected(r: Res, path: string): void {
  assert.equal(r.status, 404, path);
  assert.equal(r.body.kind, "Status", path);
  assert.equal(r.body.reason, "NotFound");
  assert.equal(r.body.details.causes[0].reason, "CLUSTER_PATH_MISSING");
  assert.match(r.body.message, /lost the cluster path \/k8s\/clusters\/<cluster id>/);
  assert.match(r.body.message, new RegExp(`Use kubectl 1\\.34 or later, or give the full server path: kubectl get --raw /k8s/clusters/<cluster id>${path.split("?")[0]!.replace(/\/$/, "")}$`));
  assert.equal(r.headers.get("daalu-error-reason"), "CLUSTER_PATH_MISSING");
}

test("the hub's /healthz and /readyz stay probes; with kubectl's User-Agent or a bearer token they say the cluster path is missing", async (t) => {
  const { gw, tokens } = await gatewayHarness(t);
  assert.deepEqual((await http(gw.url, "GET", "/healthz")).body, { status: "ok" });
  assert.deepEqual((await http(gw.url, "GET", "/readyz", { headers: { "user-agent": "kube-probe/1.32" } })).body, { status: "ready" });
  for (const path of ["/healthz", "/readyz", "/readyz?verbose"]) {
    assertMisdirected(await http(gw.url, "GET", path, { headers: { "user-agent": KUBECTL_UA } }), path);
    assertMisdirected(await http(gw.url, "GET", path, { token: tokens.viewer }), path);
  }
});

test("/livez, /version, /api, /apis, /openapi/v2|v3 and the health subpaths always get the Status, with or without a token", async (t) => {
  const { gw, tokens } = await gatewayHarness(t);
  for (const path of ["/livez", "/livez?verbose", "/readyz/etcd", "/healthz/ping", "/version", "/api", "/api/v1/pods", "/apis", "/apis/apps/v1", "/openapi/v2", "/openapi/v3", "/openapi/v3/api/v1"]) {
    assertMisdirected(await http(gw.url, "GET", path), path);
    assertMisdirected(await http(gw.url, "GET", path, { token: tokens.admin }), path);
  }
  // The hub's own API document and routes are untouched.
  assert.equal((await http(gw.url, "GET", "/openapi.json")).status, 200);
  assert.equal((await http(gw.url, "GET", "/apixyz")).body.reason, "ROUTE_NOT_FOUND");
});
