import { test } from "node:test";
import assert from "node:assert/strict";
import { allowRequest, DEFAULT_ALLOWED_METHODS, filterHeaders, REQUEST_HEADER_ALLOWLIST, splitPath } from "./policy.js";

const opts = { methods: DEFAULT_ALLOWED_METHODS, targets: { prometheus: { url: "http://prom:9090", pathPrefixes: ["/api/v1/query"] } } };

test("Kubernetes API paths pass, everything else is refused", () => {
  for (const p of ["/api", "/api/v1/pods", "/apis/apps/v1/deployments?watch=1", "/version", "/openapi/v3", "/api/v1/namespaces/x/pods/y/log?follow=true"]) {
    assert.deepEqual(allowRequest({ target: "kubernetes", method: "GET", path: p }, opts), { ok: true }, p);
  }
  for (const p of ["/", "/healthz", "/metrics", "/apixyz", "/logs/kube-apiserver.log", "/api/../healthz", "/api/%2e%2e/healthz", "//evil/api", "api/v1", "/api/v1/pods#x", "/api\\..\\metrics"]) {
    assert.equal(allowRequest({ target: "kubernetes", method: "GET", path: p }, opts).ok, false, p);
  }
});

test("writes are refused by default and allowed only when configured", () => {
  assert.equal(allowRequest({ target: "kubernetes", method: "DELETE", path: "/api/v1/namespaces/default/pods/a" }, opts).ok, false);
  assert.equal(allowRequest({ target: "kubernetes", method: "post", path: "/api/v1/namespaces/default/pods" }, opts).ok, false);
  assert.equal(allowRequest({ target: "kubernetes", method: "POST", path: "/api/v1/namespaces/default/pods" }, { ...opts, methods: ["GET", "POST"] }).ok, true);
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
