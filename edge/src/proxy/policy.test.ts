import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { allowRequest, DEFAULT_ALLOWED_METHODS, filterHeaders, normalisePath, PolicyCache, REQUEST_HEADER_ALLOWLIST, splitPath } from "./policy.js";

const opts = { methods: DEFAULT_ALLOWED_METHODS, targets: { prometheus: { url: "http://prom:9090", pathPrefixes: ["/api/v1/query"] } }, ownNamespace: "daalu-edge" };
const kube = (path: string, method = "GET") => allowRequest({ target: "kubernetes", method, path }, opts);

test("Kubernetes API paths pass, everything else is refused", () => {
  for (const p of ["/api", "/api/v1/pods", "/apis/apps/v1/deployments?watch=1", "/version", "/openapi/v3", "/api/v1/namespaces/x/pods/y/log?follow=true"]) {
    assert.deepEqual(allowRequest({ target: "kubernetes", method: "GET", path: p }, opts), { ok: true }, p);
  }
  for (const p of ["/healthz", "/livez", "/readyz?verbose", "/readyz/etcd"]) assert.deepEqual(kube(p), { ok: true }, p);
  for (const p of ["/", "/healthzz", "/metrics", "/apixyz", "/logs/kube-apiserver.log", "/api/../healthz", "/api/%2e%2e/healthz", "//evil/api", "api/v1", "/api/v1/pods#x", "/api\\..\\metrics"]) {
    assert.equal(allowRequest({ target: "kubernetes", method: "GET", path: p }, opts).ok, false, p);
  }
});

test("writes are refused by default, with a 405 Status that says why, and allowed only when configured", () => {
  const del = allowRequest({ target: "kubernetes", method: "DELETE", path: "/api/v1/namespaces/default/pods/a" }, opts);
  assert.ok(!del.ok && del.status);
  assert.deepEqual([del.status.code, del.status.reason], [405, "MethodNotAllowed"]);
  assert.match(del.status.message, /^the Daalu hub is read-only for this cluster and refused DELETE \/api\/v1\/namespaces\/default\/pods\/a: through the hub you can read \(GET, HEAD\)/);
  assert.equal(allowRequest({ target: "kubernetes", method: "post", path: "/api/v1/namespaces/default/pods" }, opts).ok, false);
  // Another target keeps the plain refusal (no Kubernetes client reads it).
  const other = allowRequest({ target: "prometheus", method: "POST", path: "/api/v1/query" }, opts);
  assert.ok(!other.ok && !other.status);
  assert.equal(allowRequest({ target: "kubernetes", method: "POST", path: "/api/v1/namespaces/default/pods" }, { ...opts, methods: ["GET", "POST"] }).ok, true);
});

test("exactly the self access reviews may be created, however the path is spelled, and nothing like them", () => {
  for (const p of ["/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", "/apis/authentication.k8s.io/v1/selfsubjectreviews", "/apis/authentication.k8s.io/v1beta1/selfsubjectreviews", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews/", "/apis//authorization.k8s.io/v1/SelfSubjectAccessReviews"]) {
    assert.deepEqual(kube(p, "POST"), { ok: true }, p);
  }
  for (const [p, m] of [
    ["/apis/authorization.k8s.io/v1/subjectaccessreviews", "POST"],
    ["/apis/authorization.k8s.io/v1/localsubjectaccessreviews", "POST"],
    ["/apis/authorization.k8s.io/v1/namespaces/x/localsubjectaccessreviews", "POST"],
    ["/apis/authentication.k8s.io/v1/tokenreviews", "POST"],
    ["/apis/authorization.k8s.io/v1/selfsubjectaccessreviews/x", "POST"],
    ["/apis/authorization.k8s.io/v1/selfsubjectaccessreviews/../../../api/v1/namespaces/x/pods", "POST"],
    ["/apis/authorization.k8s.io/v1/selfsubjectaccessreviews%2f..%2fpods", "POST"],
    ["/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", "PUT"],
    ["/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", "DELETE"],
  ] as const) {
    assert.equal(kube(p, m).ok, false, `${m} ${p}`);
  }
  assert.equal(allowRequest({ target: "prometheus", method: "POST", path: "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews" }, opts).ok, false);
});

test("only registered HTTP targets and their prefixes", () => {
  assert.equal(allowRequest({ target: "prometheus", method: "GET", path: "/api/v1/query?query=up" }, opts).ok, true);
  assert.equal(allowRequest({ target: "prometheus", method: "GET", path: "/api/v1/admin/tsdb" }, opts).ok, false);
  assert.equal(allowRequest({ target: "grafana", method: "GET", path: "/" }, opts).ok, false);
  assert.equal(allowRequest({ target: "toString", method: "GET", path: "/" }, opts).ok, false);
});

test("Authorization and other credentials never pass the header filter", () => {
  const h = filterHeaders(
    [
      { name: "Authorization", value: "Bearer caller" },
      { name: "Impersonate-User", value: "admin" },
      { name: "Cookie", value: "a" },
      { name: "Accept", value: "application/json" },
      { name: "accept", value: "second" },
      { name: "User-Agent", value: "kubectl\r\nX: y" },
    ],
    REQUEST_HEADER_ALLOWLIST,
  );
  assert.deepEqual(h, { accept: "application/json" });
});

test("splitPath keeps the query string apart", () => {
  assert.deepEqual(splitPath("/api/v1/pods?limit=500&watch=1"), { path: "/api/v1/pods", query: "limit=500&watch=1" });
});

test("the edge's own Secrets are refused with a Kubernetes 403 Status, however the path is spelled", () => {
  const refused = [
    "/api/v1/namespaces/daalu-edge/secrets/daalu-edge-tunnel",
    "/api/v1/namespaces/daalu-edge/secrets/daalu-edge-tunnel?fieldSelector=x",
    "/api/v1/namespaces/daalu-edge/secrets",
    "/api/v1/namespaces/daalu-edge/secrets/",
    "/api/v1/namespaces/daalu-edge/secrets?watch=1",
    "/api/v1/watch/namespaces/daalu-edge/secrets",
    "/api/v1/watch/namespaces/daalu-edge/secrets/daalu-edge-tunnel",
    "/api/v1/secrets",
    "/api/v1/secrets?watch=true&fieldSelector=metadata.namespace%3Ddaalu-edge",
    "/api/v1/watch/secrets",
    "/api/v1/namespaces/daalu-edge/%73ecrets/daalu-edge-tunnel",
    "/api/v1/namespaces/daalu%2Dedge/secrets/daalu-edge-tunnel",
    "/api/v1/%6Eamespaces/daalu-edge/secrets/daalu-edge-tunnel",
    "/api/v1/namespaces/daalu-edge//secrets/daalu-edge-tunnel",
    "/api//v1/namespaces/daalu-edge/secrets/daalu-edge-tunnel",
    "/api/v1/namespaces/daalu-edge/secrets./daalu-edge-tunnel",
    "/api/v1/namespaces/daalu-edge./secrets/daalu-edge-tunnel",
    "/api/v1/namespaces/daalu-edge/Secrets/daalu-edge-tunnel",
    "/api/V1/NAMESPACES/DAALU-EDGE/SECRETS/daalu-edge-tunnel",
    "/apis/v1/namespaces/daalu-edge/secrets/daalu-edge-tunnel",
  ];
  for (const p of refused) {
    for (const method of ["GET", "HEAD"]) {
      const d = kube(p, method);
      assert.equal(d.ok, false, p);
      assert.ok(!d.ok && d.status, `${p}: answered with a Status`);
      if (!d.ok && d.status) {
        assert.equal(d.status.code, 403, p);
        assert.equal(d.status.reason, "Forbidden", p);
        assert.equal(d.status.kind, "Status");
        assert.match(d.status.message, /the Daalu edge never serves the Secrets of its own namespace "daalu-edge"/);
      }
    }
  }
  const one = kube("/api/v1/namespaces/daalu-edge/secrets/daalu-edge-tunnel");
  assert.ok(!one.ok && one.status?.message.startsWith('secrets "daalu-edge-tunnel" is forbidden: '));
  assert.deepEqual(!one.ok && one.status?.details, { name: "daalu-edge-tunnel", kind: "secrets" });
  // Paths that do not decode to one clean form are refused outright (double encoding, bad escapes, spaces).
  for (const p of ["/api/v1/namespaces/daalu-edge/%2573ecrets/daalu-edge-tunnel", "/api/v1/namespaces/daalu-edge/%zzsecrets", "/api/v1/namespaces/daalu-edge/secrets%20/x", "/api/v1/namespaces/%252e%252e/secrets", "/API/v1/namespaces/daalu-edge/secrets"]) {
    assert.equal(kube(p).ok, false, p);
  }
});

test("other namespaces' Secrets and the edge's other objects are left to RBAC", () => {
  for (const p of ["/api/v1/namespaces/shop/secrets", "/api/v1/namespaces/shop/secrets/postgres-credentials", "/api/v1/namespaces/daalu-edge/pods", "/api/v1/namespaces/daalu-edge", "/api/v1/namespaces/daalu-edge-other/secrets/x", "/apis/apps/v1/namespaces/daalu-edge/deployments/daalu-edge", "/api/v1/namespaces/shop/configmaps/secrets-config"]) {
    assert.deepEqual(kube(p), { ok: true }, p);
  }
  // The namespace is the edge's own, not a fixed name.
  assert.deepEqual(allowRequest({ target: "kubernetes", method: "GET", path: "/api/v1/namespaces/daalu-edge/secrets/x" }, { ...opts, ownNamespace: "edge-system" }), { ok: true });
  assert.equal(allowRequest({ target: "kubernetes", method: "GET", path: "/api/v1/namespaces/edge-system/secrets/x" }, { ...opts, ownNamespace: "edge-system" }).ok, false);
});

test("normalisePath decodes once, collapses empty segments, folds case and trailing dots", () => {
  assert.deepEqual(normalisePath("/api//v1/Namespaces/x./%73ecrets/"), ["api", "v1", "namespaces", "x", "secrets"]);
  assert.equal(normalisePath("/api/%2573"), undefined);
  assert.equal(normalisePath("/api/%"), undefined);
  assert.equal(normalisePath("/api/%2e%2e/x"), undefined);
});

test("PolicyCache decides every path as allowRequest does, whatever the query and whichever came first", () => {
  // Every path this file decides, each with no query, clean queries, and queries splitPath refuses.
  const paths = [...new Set([...readFileSync(new URL(import.meta.url), "utf8").matchAll(/"(\/[^"]*)"/g)].map((m) => m[1]!.replaceAll("\\\\", "\\")))];
  assert.ok(paths.length > 50, `${paths.length} paths`);
  const queries = ["", "?watch=1&resourceVersion=1", "?limit=500", "?", "?x=%2e%2e/secrets", "?a#b", "?a\\b", "?a\u0000b", "?a\nb"];
  const cache = new PolicyCache(opts);
  for (const round of [1, 2]) {
    for (const target of ["kubernetes", "prometheus", "nope", "4:kubernetes"]) {
      for (const method of ["GET", "POST", "delete", "GE", "TGET"]) {
        for (const path of paths) {
          for (const q of round === 1 ? queries : [...queries].reverse()) {
            const req = { target, method, path: path + q };
            assert.deepEqual(cache.decide(req), allowRequest(req, opts), `${target} ${method} ${req.path} (round ${round})`);
          }
        }
      }
    }
  }
  // A path past the longest kept is decided afresh, as is one on a full cache.
  const long = { target: "kubernetes", method: "GET", path: `/api/v1/namespaces/${"x".repeat(600)}/secrets` };
  assert.deepEqual(cache.decide(long), allowRequest(long, opts));
});
