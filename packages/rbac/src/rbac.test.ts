import { test } from "node:test";
import assert from "node:assert/strict";
import { parseAllDocuments, parse } from "yaml";
import { covers, generatePatch, rbacView, resolve, rulesFor, ScopeError, scopeForResource, SCOPES, presetRules, type Rule } from "./index.js";

const T = { release: "daalu-edge", namespace: "daalu-edge", chartVersion: "0.1.0", appVersion: "0.1.0", hubUrl: "https://hub.example.com/" };

test("covers: verbs, groups, resources, subresource wildcards and resourceNames", () => {
  const granted: Rule[] = [
    { apiGroups: [""], resources: ["pods", "pods/*"], verbs: ["get", "list"] },
    { apiGroups: ["apps"], resources: ["deployments"], verbs: ["*"] },
    { apiGroups: [""], resources: ["configmaps"], resourceNames: ["one"], verbs: ["get"] },
  ];
  assert.ok(covers(granted, [{ apiGroups: [""], resources: ["pods", "pods/log"], verbs: ["get"] }]));
  assert.ok(!covers(granted, [{ apiGroups: [""], resources: ["pods"], verbs: ["watch"] }]));
  assert.ok(covers(granted, [{ apiGroups: ["apps"], resources: ["deployments"], verbs: ["patch", "delete"] }]));
  assert.ok(!covers(granted, [{ apiGroups: ["apps"], resources: ["statefulsets"], verbs: ["get"] }]));
  assert.ok(!covers(granted, [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get"] }]), "a rule by name does not grant every object");
  assert.ok(covers(granted, [{ apiGroups: [""], resources: ["configmaps"], resourceNames: ["one"], verbs: ["get"] }]));
  assert.ok(!covers([{ apiGroups: ["x.io"], resources: ["a"], verbs: ["get"] }], [{ apiGroups: ["x.io"], resources: ["*"], verbs: ["get"] }]), "a wildcard needs the wildcard");
});

test("presets are cumulative, no preset reads Secrets or execs, and every scope says whether it includes Secrets", () => {
  assert.ok(covers(presetRules("read-wide"), presetRules("read-only")));
  assert.ok(covers(presetRules("operator"), presetRules("read-wide")));
  for (const p of ["read-only", "read-wide", "operator"] as const) {
    for (const s of ["secrets", "exec"]) assert.ok(!covers(presetRules(p), SCOPES.find((x) => x.name === s)!.rules), `${p} does not grant ${s}`);
  }
  assert.deepEqual(SCOPES.filter((s) => s.includesSecrets).map((s) => s.name), ["secrets"]);
  assert.match(SCOPES.find((s) => s.name === "secrets")!.description, /SECRETS/);
  assert.deepEqual(SCOPES.find((s) => s.name === "exec")!.rules, [{ apiGroups: [""], resources: ["pods/exec", "pods/attach", "pods/portforward"], verbs: ["create", "get"] }]);
});

test("resolve: the widest preset wins, extras the preset already grants are dropped, groups sorted", () => {
  const r = resolve({ scopes: ["configmaps", "exec", "read-wide", "custom-resources:cert-manager.io", "custom-resources:argoproj.io", "batch"] });
  assert.equal(r.preset, "read-wide");
  assert.deepEqual(r.extras, ["exec"]);
  assert.deepEqual(r.customResourceGroups, ["argoproj.io", "cert-manager.io"]);
  assert.equal(resolve({ scopes: ["operator", "read-only"] }).preset, "operator");
  assert.deepEqual(resolve({ scopes: ["write-proposals", "nodes-namespaces"] }).extras, ["write-proposals"]);
  assert.equal(resolve({ scopes: [] }).includesSecrets, false);
  assert.equal(resolve({ scopes: ["secrets"] }).includesSecrets, true);
  assert.equal(resolve({ scopes: [], customRules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get"] }] }).includesSecrets, true);
});

test("resolve refuses unknown scopes, bad groups and malformed custom rules with stable reasons", () => {
  const reason = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof ScopeError);
      return e.reason;
    }
    assert.fail("no error");
  };
  assert.equal(reason(() => resolve({ scopes: ["admin"] })), "RBAC_SCOPE_UNKNOWN");
  assert.equal(reason(() => resolve({ scopes: ["custom-resources:"] })), "RBAC_SCOPE_INVALID");
  assert.equal(reason(() => resolve({ scopes: ["custom-resources:apps"] })), "RBAC_SCOPE_INVALID");
  assert.equal(reason(() => resolve({ scopes: ["custom-resources:rbac.authorization.k8s.io"] })), "RBAC_SCOPE_INVALID");
  assert.equal(reason(() => resolve({ scopes: [], customRules: [{ apiGroups: [""], resources: ["pods"] } as unknown as Rule] })), "RBAC_CUSTOM_RULE_INVALID");
  assert.equal(reason(() => resolve({ scopes: [], customRules: [{ apiGroups: [""], resources: ["Pods "], verbs: ["get"] }] })), "RBAC_CUSTOM_RULE_INVALID");
});

test("generatePatch: the ClusterRole and binding as the chart names them, the same rules in the values and the command", () => {
  const p = generatePatch({ scopes: ["exec", "configmaps", "custom-resources:cert-manager.io"], customRules: [{ apiGroups: ["example.com"], resources: ["widgets"], verbs: ["get"] }] }, T);
  type Doc = { kind: string; metadata: { name: string }; subjects: unknown; rules: Rule[] };
  const docs = parseAllDocuments(p.manifest).map((d) => d.toJS() as Doc);
  assert.deepEqual(docs, p.objects);
  assert.deepEqual(docs.map((d) => `${d.kind}/${d.metadata.name}`), ["ClusterRole/daalu-edge-daalu-edge-read", "ClusterRoleBinding/daalu-edge-daalu-edge-read"]);
  assert.deepEqual(docs[1]!.subjects, [{ kind: "ServiceAccount", name: "daalu-edge-proxy", namespace: "daalu-edge" }]);
  assert.deepEqual(docs[0]!.rules, rulesFor(p.resolved));
  assert.deepEqual(docs[0]!.rules.slice(3), [
    { apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] },
    { apiGroups: [""], resources: ["pods/exec", "pods/attach", "pods/portforward"], verbs: ["create", "get"] },
    { apiGroups: ["cert-manager.io"], resources: ["*"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["example.com"], resources: ["widgets"], verbs: ["get"] },
  ]);
  assert.deepEqual(parse(p.valuesYaml), p.values);
  assert.deepEqual(p.values.rbac, { preset: "read-only", extras: ["configmaps", "exec"], customResourceGroups: ["cert-manager.io"], customRules: [{ apiGroups: ["example.com"], resources: ["widgets"], verbs: ["get"] }] });
  assert.equal(
    p.helmCommand,
    `helm upgrade daalu-edge daalu-edge --repo https://hub.example.com/charts --version 0.1.0 --namespace daalu-edge --reuse-values --set rbac.preset=read-only --set-json 'rbac.extras=["configmaps","exec"]' --set-json 'rbac.customResourceGroups=["cert-manager.io"]' --set-json 'rbac.customRules=[{"apiGroups":["example.com"],"resources":["widgets"],"verbs":["get"]}]'`,
  );
  const other = generatePatch({ scopes: [] }, { ...T, release: "edge", namespace: "ops" }).objects[0] as { metadata: { name: string } };
  assert.equal(other.metadata.name, "edge-daalu-edge-ops-read");
});

test("rbacView: requested vs effective per scope, and applied once every requested rule is granted", () => {
  const requested = { scopes: ["configmaps", "custom-resources:cert-manager.io"] };
  const before = rbacView(requested, presetRules("read-only"));
  const by = (v: typeof before, n: string) => v.scopes.find((s) => s.name === n)!;
  assert.deepEqual([by(before, "configmaps").requested, by(before, "configmaps").effective], [true, "missing"]);
  assert.equal(by(before, "read-only").effective, "granted");
  assert.equal(by(before, "custom-resources:cert-manager.io").effective, "missing");
  assert.equal(before.applied, false);
  const after = rbacView(requested, rulesFor(resolve(requested)));
  assert.equal(by(after, "configmaps").effective, "granted");
  assert.equal(by(after, "custom-resources:cert-manager.io").effective, "granted");
  assert.equal(by(after, "read-wide").effective, "missing");
  assert.equal(after.applied, true);
  const unknown = rbacView(undefined, undefined);
  assert.ok(unknown.scopes.every((s) => s.effective === "unknown" && !s.requested));
  assert.equal(unknown.applied, false);
});

test("scopeForResource: the narrowest scope that reads it", () => {
  assert.equal(scopeForResource("", "pods"), "read-only");
  assert.equal(scopeForResource("", "nodes"), "nodes-namespaces");
  assert.equal(scopeForResource("", "configmaps"), "configmaps");
  assert.equal(scopeForResource("networking.k8s.io", "networkpolicies"), "networking");
  assert.equal(scopeForResource("batch", "cronjobs"), "batch");
  assert.equal(scopeForResource("autoscaling", "horizontalpodautoscalers"), "read-wide");
  assert.equal(scopeForResource("", "secrets"), "secrets");
  assert.equal(scopeForResource("cert-manager.io", "certificates"), "custom-resources:cert-manager.io");
  assert.equal(scopeForResource("", "serviceaccounts"), undefined);
  assert.equal(scopeForResource("rbac.authorization.k8s.io", "roles"), undefined);
  assert.equal(scopeForResource("metrics.k8s.io", "pods"), undefined, "metrics grants get/list, not watch");
});
