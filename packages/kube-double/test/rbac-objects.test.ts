/**
 * RBAC written through the API: a ClusterRole and a ClusterRoleBinding created
 * with the admin's token (as `kubectl apply -f` of a generated manifest does)
 * change what the bound ServiceAccount may do and what its self reviews
 * answer; deleting the binding takes it back.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { ApiException, AuthorizationV1Api, CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from "@kubernetes/client-node";
import { EDGE_NAMESPACE, EDGE_PROXY_SERVICE_ACCOUNT, startKubeDouble, type KubeDouble } from "../src/index.js";

let double: KubeDouble;
before(async () => {
  double = await startKubeDouble();
});
after(() => double.close());

function api<T>(token: string, cls: new (...a: never[]) => T): T {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "double", server: double.url, caData: Buffer.from(double.ca!).toString("base64"), skipTLSVerify: false }],
    users: [{ name: "u", token }],
    contexts: [{ name: "double", cluster: "double", user: "u" }],
    currentContext: "double",
  });
  return kc.makeApiClient(cls as never) as T;
}

const code = (p: Promise<unknown>) => p.then(() => 200, (e: unknown) => (e instanceof ApiException ? e.code : Promise.reject(e)));

test("a ClusterRoleBinding written through the API grants its ClusterRole's rules, in requests and in both self reviews", async () => {
  const admin = api("admin-token", RbacAuthorizationV1Api);
  const proxyCore = api("edge-proxy-token", CoreV1Api);
  const proxyAuthz = api("edge-proxy-token", AuthorizationV1Api);
  const canListConfigMaps = async () =>
    (await proxyAuthz.createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: { verb: "list", resource: "configmaps", namespace: "default" } } } })).status?.allowed;
  const rules = async () => (await proxyAuthz.createSelfSubjectRulesReview({ body: { spec: { namespace: EDGE_NAMESPACE } } })).status?.resourceRules ?? [];
  const grantsConfigMaps = async () => (await rules()).some((r) => r.resources?.includes("configmaps") && r.verbs.includes("list"));

  assert.equal(await code(proxyCore.listConfigMapForAllNamespaces()), 403);
  assert.equal(await canListConfigMaps(), false);
  assert.equal(await grantsConfigMaps(), false);

  await admin.createClusterRole({ body: { metadata: { name: "widen" }, rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] }] } });
  assert.equal(await canListConfigMaps(), false, "a role bound to no one grants nothing");
  await admin.createClusterRoleBinding({
    body: { metadata: { name: "widen" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "widen" }, subjects: [{ kind: "ServiceAccount", name: EDGE_PROXY_SERVICE_ACCOUNT, namespace: EDGE_NAMESPACE }] },
  });
  assert.equal(await code(proxyCore.listConfigMapForAllNamespaces()), 200);
  assert.equal(await canListConfigMaps(), true);
  assert.equal(await grantsConfigMaps(), true);
  // Another account is not the subject.
  assert.equal(await code(api("edge-token", CoreV1Api).listConfigMapForAllNamespaces()), 403);

  // Replacing the role's rules changes the grant at once; deleting the binding takes it back.
  await admin.replaceClusterRole({ name: "widen", body: { metadata: { name: "widen" }, rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get"] }] } });
  assert.equal(await canListConfigMaps(), false);
  await admin.deleteClusterRoleBinding({ name: "widen" });
  assert.equal(await grantsConfigMaps(), false);
  assert.equal(await code(proxyCore.readNamespacedConfigMap({ name: "x", namespace: "default" })), 403);
});
