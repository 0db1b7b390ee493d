import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import https from "node:https";
import { EDGE_PROXY_USER, type KubeDouble } from "../src/index.js";
import { rows, startWithKubectl, type Kubectl } from "./kubectl.js";

// What the hub's parity suite relies on the double for (issue 15): paging,
// OpenAPI for `explain`, the self-review APIs against its RBAC, health.

describe("the double as kube-apiserver: paging, OpenAPI, self reviews, health", () => {
  let world: Awaited<ReturnType<typeof startWithKubectl>>;
  let double: KubeDouble;
  let k: Kubectl;
  before(async () => {
    world = await startWithKubectl();
    ({ double, k } = world);
  });
  after(() => world.close());
  /** GET with the double's CA; `token` "" sends none. */
  const get = (path: string, token = "admin-token", accept = "application/json") =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const headers: Record<string, string> = { accept, ...(token ? { authorization: `Bearer ${token}` } : {}) };
      https.get(`${double.url}${path}`, { ca: double.ca, headers }, (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      }).on("error", reject);
    });

  test("limit/continue pages through a list with remainingItemCount, and --chunk-size=1 prints what one request does", async () => {
    const pages: string[][] = [];
    let cont = "";
    const remaining: number[] = [];
    do {
      const r = JSON.parse((await get(`/api/v1/namespaces/shop/pods?limit=2${cont ? `&continue=${encodeURIComponent(cont)}` : ""}`)).text);
      pages.push(r.items.map((p: { metadata: { name: string } }) => p.metadata.name));
      if (r.metadata.remainingItemCount !== undefined) remaining.push(r.metadata.remainingItemCount);
      cont = r.metadata.continue ?? "";
    } while (cont);
    const all = JSON.parse((await get("/api/v1/namespaces/shop/pods")).text).items.map((p: { metadata: { name: string } }) => p.metadata.name);
    assert.ok(all.length > 4, "enough pods to page");
    assert.deepEqual(pages.flat(), all);
    assert.ok(pages.slice(0, -1).every((p) => p.length === 2));
    assert.deepEqual(remaining, pages.slice(1).map((_, i) => all.length - 2 * (i + 1)));
    const selected = JSON.parse((await get("/api/v1/namespaces/shop/pods?limit=1&labelSelector=app%3Dweb")).text);
    assert.equal(selected.items.length, 1);
    assert.ok(selected.metadata.continue);
    assert.equal(selected.metadata.remainingItemCount, undefined, "no count with a selector");
    const bad = await get("/api/v1/namespaces/shop/pods?limit=1&continue=%%%");
    assert.equal(bad.status, 400);
    const n0 = double.requestCount({ path: "/api/v1/namespaces/shop/pods" });
    const chunked = await k.run(["get", "pods", "-n", "shop", "--chunk-size=1"]);
    assert.equal(chunked.code, 0, chunked.stderr);
    assert.deepEqual(rows(chunked.stdout).slice(1).map((r) => r[0]), all);
    assert.equal(double.requestCount({ path: "/api/v1/namespaces/shop/pods" }) - n0, all.length);
  });

  test("OpenAPI v3 index and documents, v2 as JSON: kubectl explain works", async () => {
    const index = JSON.parse((await get("/openapi/v3")).text);
    assert.deepEqual(Object.keys(index.paths).sort(), ["api/v1", "apis/apps/v1", "apis/discovery.k8s.io/v1"]);
    const v1 = JSON.parse((await get(index.paths["api/v1"].serverRelativeURL)).text);
    assert.ok(v1.components.schemas["io.k8s.api.core.v1.PodSpec"]);
    assert.ok(v1.paths["/api/v1/namespaces/{namespace}/pods"]);
    assert.equal(v1.paths["/api/v1/namespaces/{namespace}/pods/{name}/exec"], undefined, "only the served kinds' paths");
    const v2 = JSON.parse((await get("/openapi/v2")).text);
    assert.equal(v2.swagger, "2.0");
    assert.equal(v2.definitions["io.k8s.api.apps.v1.Deployment"].properties.spec.$ref, "#/definitions/io.k8s.api.apps.v1.DeploymentSpec");
    assert.equal((await get("/openapi/v2", "admin-token", "application/com.github.proto-openapi.spec.v2@v1.0+protobuf")).status, 406);
    assert.equal((await get("/openapi/v3", "")).status, 401);
    const explain = await k.run(["explain", "pods.spec.containers.image"]);
    assert.equal(explain.code, 0, explain.stderr);
    assert.match(explain.stdout, /KIND:\s+Pod\nVERSION:\s+v1\n\nFIELD: image <string>/);
    assert.match(explain.stdout, /Container image name\./);
    const deploy = await k.run(["explain", "deployment.spec.strategy"]);
    assert.equal(deploy.code, 0, deploy.stderr);
    assert.match(deploy.stdout, /GROUP:\s+apps/);
  });

  test("auth can-i, can-i --list and whoami are answered from RBAC and the bootstrap roles", async () => {
    const can = (args: string[]) => k.run(["auth", "can-i", ...args], "edge-proxy-token");
    const yes = await can(["list", "pods", "-n", "shop"]);
    assert.deepEqual([yes.code, yes.stdout], [0, "yes\n"]);
    const no = await can(["delete", "pods", "-n", "shop"]);
    assert.deepEqual([no.code, no.stdout], [1, "no\n"]);
    const secrets = await can(["get", "secrets/daalu-edge-tunnel", "-n", "daalu-edge"]);
    assert.equal(secrets.stdout, "no\n");
    const health = await can(["get", "/readyz"]);
    assert.equal(health.stdout, "yes\n");
    const admin = await k.run(["auth", "can-i", "delete", "nodes"]);
    assert.equal(admin.stdout, "yes\n");
    const list = await k.run(["auth", "can-i", "--list", "-n", "shop"], "edge-proxy-token");
    assert.equal(list.code, 0, list.stderr);
    const t = rows(list.stdout);
    assert.deepEqual(t[0], ["Resources", "Non-Resource URLs", "Resource Names", "Verbs"]);
    assert.ok(t.some((r) => r[0] === "deployments.apps" && r.at(-1) === "[get list watch]"), list.stdout);
    assert.ok(t.some((r) => r[0] === "selfsubjectaccessreviews.authorization.k8s.io" && r.at(-1) === "[create]"), list.stdout);
    assert.ok(t.some((r) => r[0] === "[/readyz]" || r[1] === "[/readyz]"), list.stdout);
    const who = await k.run(["auth", "whoami"], "edge-proxy-token");
    assert.equal(who.code, 0, who.stderr);
    assert.match(who.stdout, new RegExp(`Username\\s+${EDGE_PROXY_USER}`));
    assert.match(who.stdout, /Groups\s+\[system:serviceaccounts system:serviceaccounts:daalu-edge system:authenticated\]/);
    assert.equal(double.store.list("pods").length > 0, true);
    assert.equal(double.requestCount({ method: "POST", resource: "selfsubjectreviews", status: 201 }), 1);
  });

  test("/healthz, /livez, /readyz: ok, ?verbose lists the checks, /<check> runs one", async () => {
    for (const ep of ["healthz", "livez", "readyz"]) {
      const plain = await get(`/${ep}`, "");
      assert.deepEqual([plain.status, plain.text], [200, "ok"]);
      const verbose = (await get(`/${ep}?verbose`, "")).text;
      assert.match(verbose, /^\[\+\]ping ok\n/);
      assert.match(verbose, new RegExp(`\\n${ep} check passed\\n$`));
    }
    assert.match((await get("/readyz?verbose", "")).text, /\[\+\]etcd-readiness ok/);
    assert.deepEqual(await get("/readyz/etcd", ""), { status: 200, text: "ok" });
    assert.equal((await get("/readyz/nope", "")).status, 404);
    const raw = await k.run(["get", "--raw", "/readyz?verbose"]);
    assert.equal(raw.code, 0, raw.stderr);
    assert.match(raw.stdout, /readyz check passed/);
  });
});
