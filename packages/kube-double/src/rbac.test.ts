import { test } from "node:test";
import assert from "node:assert/strict";
import { authorize, BOOTSTRAP_USER, DEFAULT_TOKENS, defaultPolicy, EDGE_USER } from "./rbac.js";
import { forbidden, notFound } from "./status.js";

const edge = DEFAULT_TOKENS["edge-proxy-token"]!;
const pod = DEFAULT_TOKENS["edge-token"]!;
const boot = DEFAULT_TOKENS["bootstrap-token"]!;

test("the default policy: the proxy account reads workloads and logs, the pod's account only its Secret, bootstrap writes secrets in daalu-edge only", () => {
  const p = defaultPolicy();
  assert.ok(authorize(p, { user: edge, verb: "watch", group: "apps", plural: "deployments", namespace: "shop" }));
  assert.ok(authorize(p, { user: edge, verb: "list", group: "", plural: "nodes" }));
  assert.ok(authorize(p, { user: edge, verb: "get", group: "", plural: "pods", subresource: "log", namespace: "shop", name: "p" }));
  assert.ok(!authorize(p, { user: edge, verb: "delete", group: "", plural: "pods", namespace: "shop", name: "p" }));
  assert.ok(!authorize(p, { user: edge, verb: "get", group: "", plural: "pods", subresource: "exec", namespace: "shop", name: "p" }));
  assert.ok(!authorize(p, { user: edge, verb: "list", group: "", plural: "secrets", namespace: "daalu-edge" }));
  assert.ok(!authorize(p, { user: edge, verb: "get", group: "", plural: "secrets", namespace: "daalu-edge", name: "daalu-edge-tunnel" }));
  assert.ok(authorize(p, { user: pod, verb: "get", group: "", plural: "secrets", namespace: "daalu-edge", name: "daalu-edge-tunnel" }));
  assert.ok(!authorize(p, { user: pod, verb: "list", group: "", plural: "secrets", namespace: "daalu-edge" }));
  assert.ok(!authorize(p, { user: pod, verb: "list", group: "", plural: "pods", namespace: "shop" }));
  assert.ok(authorize(p, { user: pod, verb: "create", group: "", plural: "serviceaccounts", subresource: "token", namespace: "daalu-edge", name: "daalu-edge-proxy" }));
  assert.ok(authorize(p, { user: boot, verb: "create", group: "", plural: "secrets", namespace: "daalu-edge" }));
  assert.ok(!authorize(p, { user: boot, verb: "create", group: "", plural: "secrets", namespace: "default" }));
  assert.ok(!authorize(p, { user: boot, verb: "delete", group: "", plural: "secrets", namespace: "daalu-edge", name: "s" }));
  assert.ok(authorize(p, { user: DEFAULT_TOKENS["admin-token"]!, verb: "delete", group: "", plural: "nodes", name: "n" }), "system:masters bypasses RBAC");
  assert.equal(BOOTSTRAP_USER, "system:serviceaccount:daalu-edge:daalu-edge-bootstrap");
});

test("Forbidden and NotFound Status objects are written as kube-apiserver writes them", () => {
  assert.deepEqual(forbidden({ user: EDGE_USER, verb: "list", group: "", plural: "pods", namespace: "kube-system" }).status, {
    kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure",
    message: 'pods is forbidden: User "system:serviceaccount:daalu-edge:daalu-edge" cannot list resource "pods" in API group "" in the namespace "kube-system"',
    reason: "Forbidden", details: { kind: "pods" }, code: 403,
  });
  assert.equal(forbidden({ user: "u", verb: "get", group: "apps", plural: "deployments", name: "web", namespace: "shop" }).status.message, 'deployments.apps "web" is forbidden: User "u" cannot get resource "deployments" in API group "apps" in the namespace "shop"');
  assert.equal(forbidden({ user: "u", verb: "get", group: "", plural: "pods", subresource: "log", name: "p", namespace: "shop" }).status.message, 'pods "p" is forbidden: User "u" cannot get resource "pods/log" in API group "" in the namespace "shop"');
  assert.equal(forbidden({ user: "u", verb: "list", group: "", plural: "nodes" }).status.message, 'nodes is forbidden: User "u" cannot list resource "nodes" in API group "" at the cluster scope');
  assert.deepEqual(notFound({ group: "apps", plural: "deployments" }, "x").status, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: 'deployments.apps "x" not found', reason: "NotFound", details: { name: "x", group: "apps", kind: "deployments" }, code: 404 });
});
