import { test } from "node:test";
import assert from "node:assert/strict";
import { getPath, listPath, namespaceOf, pluralOf, resourceOf, scopeFor } from "./resources.js";

test("plurals follow apimachinery's guess, with the irregular built-ins listed", () => {
  assert.deepEqual(["Deployment", "Ingress", "NetworkPolicy", "Endpoints", "Gateway"].map(pluralOf), ["deployments", "ingresses", "networkpolicies", "endpoints", "gateways"]);
});

test("paths: core and grouped, namespaced and cluster-scoped; a namespaced object without a namespace is read in default", () => {
  const deploy = resourceOf("apps/v1", "Deployment");
  assert.equal(listPath(deploy, namespaceOf(deploy, "shop")), "/apis/apps/v1/namespaces/shop/deployments");
  const cm = resourceOf("v1", "ConfigMap");
  assert.equal(getPath(cm, namespaceOf(cm, ""), "cfg"), "/api/v1/namespaces/default/configmaps/cfg");
  const cr = resourceOf("rbac.authorization.k8s.io/v1", "ClusterRole");
  assert.equal(getPath(cr, namespaceOf(cr, "ignored"), "view"), "/apis/rbac.authorization.k8s.io/v1/clusterroles/view");
});

test("scopeFor names the resource and group an RBAC rule needs", () => {
  assert.equal(scopeFor("apps/v1", "Deployment"), "grant get/list on deployments.apps (scope \"read-only\")");
  assert.equal(scopeFor("v1", "ConfigMap"), "grant get/list on configmaps (scope \"configmaps\")");
  assert.equal(scopeFor("networking.k8s.io/v1", "NetworkPolicy"), "grant get/list on networkpolicies.networking.k8s.io (scope \"networking\")");
  assert.equal(scopeFor("cert-manager.io/v1", "Certificate"), "grant get/list on certificates.cert-manager.io (scope \"custom-resources:cert-manager.io\")");
  assert.equal(scopeFor("rbac.authorization.k8s.io/v1", "ClusterRole"), "grant get/list on clusterroles.rbac.authorization.k8s.io");
});
