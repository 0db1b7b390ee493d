import { test } from "node:test";
import assert from "node:assert/strict";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { auditv1 } from "@daalu/proto";
import { isStreaming, parseOperation } from "./operation.js";

const op = (fields: MessageInitShape<typeof auditv1.OperationSchema>) => create(auditv1.OperationSchema, fields);

test("resource calls map to the API server's verbs and names", () => {
  assert.deepEqual(parseOperation("kubernetes", "GET", "/api/v1/namespaces/default/pods?limit=500"), op({ verb: "list", resource: "pods", namespace: "default", name: "", path: "/api/v1/namespaces/default/pods", subresource: "", apiGroup: "" }));
  assert.deepEqual(parseOperation("kubernetes", "GET", "/api/v1/pods"), op({ verb: "list", resource: "pods", namespace: "", name: "", path: "/api/v1/pods", subresource: "", apiGroup: "" }));
  assert.deepEqual(parseOperation("kubernetes", "GET", "/apis/apps/v1/namespaces/web/deployments/front"), op({ verb: "get", resource: "deployments", namespace: "web", name: "front", path: "/apis/apps/v1/namespaces/web/deployments/front", subresource: "", apiGroup: "apps" }));
  const log = parseOperation("kubernetes", "GET", "/api/v1/namespaces/default/pods/web-0/log?follow=true&tailLines=10");
  assert.equal(log.verb, "get");
  assert.equal(log.subresource, "log");
  assert.equal(log.name, "web-0");
  assert.equal(parseOperation("kubernetes", "GET", "/api/v1/namespaces/default/pods?watch=1").verb, "watch");
  assert.equal(parseOperation("kubernetes", "GET", "/api/v1/watch/namespaces/default/pods").verb, "watch");
  assert.equal(parseOperation("kubernetes", "DELETE", "/api/v1/namespaces/default/pods").verb, "deletecollection");
  assert.equal(parseOperation("kubernetes", "PATCH", "/apis/apps/v1/namespaces/a/deployments/b/scale").subresource, "scale");
  assert.equal(parseOperation("kubernetes", "GET", "/api/v1/namespaces/kube-system").namespace, "kube-system");
  assert.equal(parseOperation("kubernetes", "GET", "/api/v1/nodes/n1").resource, "nodes");
});

test("discovery and non-resource paths keep the path", () => {
  for (const p of ["/version", "/api", "/apis", "/api/v1", "/apis/apps/v1", "/openapi/v3"]) {
    const op = parseOperation("kubernetes", "GET", p);
    assert.equal(op.verb, "get", p);
    assert.equal(op.resource, "", p);
    assert.equal(op.path, p);
  }
});

test("self access reviews are audited as reads; other creations stay creations", () => {
  assert.deepEqual(parseOperation("kubernetes", "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"), op({ verb: "get", resource: "selfsubjectaccessreviews", namespace: "", name: "", path: "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", subresource: "", apiGroup: "authorization.k8s.io" }));
  assert.equal(parseOperation("kubernetes", "POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews").verb, "get");
  assert.equal(parseOperation("kubernetes", "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews").verb, "get");
  assert.equal(parseOperation("kubernetes", "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews").verb, "create");
  assert.equal(parseOperation("kubernetes", "POST", "/apis/authorization.k8s.io/v1/namespaces/x/localsubjectaccessreviews").verb, "create");
  assert.equal(parseOperation("kubernetes", "POST", "/api/v1/namespaces/x/pods").verb, "create");
});

test("HTTP targets record the target and the method", () => {
  assert.deepEqual(parseOperation("prometheus", "GET", "/api/v1/query?query=up"), op({ verb: "get", resource: "prometheus", namespace: "", name: "", path: "/api/v1/query", subresource: "", apiGroup: "" }));
});

test("watches and followed logs are streams; everything else is unary", () => {
  assert.equal(isStreaming("GET", "/api/v1/pods?watch=true"), true);
  assert.equal(isStreaming("GET", "/api/v1/watch/pods"), true);
  assert.equal(isStreaming("GET", "/api/v1/namespaces/d/pods/p/log?follow=true"), true);
  assert.equal(isStreaming("GET", "/api/v1/namespaces/d/pods/p/log?tailLines=5"), false);
  assert.equal(isStreaming("GET", "/api/v1/pods?watch=false"), false);
  assert.equal(isStreaming("GET", "/api/v1/pods"), false);
});
