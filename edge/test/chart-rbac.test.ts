/**
 * RBAC widening presets of the daalu-edge chart (`rbac.preset`, `rbac.extras`,
 * `rbac.customRules`), rendered by the real helm: the exact rules each preset
 * gives the proxy account (the only identity hub calls use), that read-only is
 * the default, that no preset reads Secrets or grants exec/attach/port-forward,
 * and that values.schema.json refuses what the chart does not know, with
 * helm's message naming the value.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { runHelm } from "@daalu/testing";
import { presetRules } from "@daalu/rbac";
import { CHART, grantsOf, INSTALL, one, READ, READ_ONLY_GRANTS, render, rulesOf, skip, valuesFile, type K8sObject } from "./chart-kit.js";

const PROXY = "daalu-edge-proxy";

/** group/resource → sorted verbs, over every rule bound to the proxy account. */
const granted = (objs: K8sObject[]) => grantsOf(rulesOf(objs, PROXY));
const preset = (name: string, extra = "") => render([INSTALL, valuesFile(`rbac-${name}${extra ? "-x" : ""}`, `rbac:\n  preset: ${name}\n${extra}`)]);

// The presets' tables come from @daalu/rbac (chart-scopes.test.ts proves the rule lists equal, in order);
// the spot checks below pin what each preset adds in plain terms.
const READ_WIDE = grantsOf(presetRules("read-wide"));
const OPERATOR = grantsOf(presetRules("operator"));
const NEVER = ["secrets", "pods/exec", "pods/attach", "pods/portforward", "nodes/proxy", "serviceaccounts/token"];

test("rbac presets: read-only is the default, and each preset gives the proxy account exactly its rules", { skip }, async () => {
  assert.equal(READ_WIDE["/configmaps"]?.join(), READ.join(), "read-wide reads ConfigMaps");
  assert.equal(READ_WIDE["batch/cronjobs"]?.join(), READ.join(), "read-wide reads CronJobs");
  assert.deepEqual(OPERATOR["apps/deployments/scale"], ["get", "patch", "update"]);
  assert.deepEqual(OPERATOR["/pods"], ["delete", "get", "list", "watch"]);
  const byDefault = await render([INSTALL]);
  assert.deepEqual(granted(byDefault), READ_ONLY_GRANTS);
  assert.equal(one(byDefault, "ClusterRole").metadata.annotations?.["daalu.io/rbac-preset"], "read-only");
  for (const [name, want] of [
    ["read-only", READ_ONLY_GRANTS],
    ["read-wide", READ_WIDE],
    ["operator", OPERATOR],
  ] as const) {
    const objs = await preset(name);
    assert.deepEqual(granted(objs), want, name);
    assert.equal(one(objs, "ClusterRole").metadata.annotations?.["daalu.io/rbac-preset"], name);
    for (const r of rulesOf(objs, PROXY)) {
      for (const k of ["apiGroups", "resources", "verbs"] as const) assert.ok(!r[k].includes("*"), `${name}: no wildcard in ${k}`);
      assert.ok(!r.resources.some((x) => NEVER.includes(x)), `${name} never grants ${JSON.stringify(r.resources)}`);
    }
    // The pod's own account and the bootstrap account do not change with the preset.
    assert.deepEqual(rulesOf(objs, "daalu-edge"), rulesOf(byDefault, "daalu-edge"));
    assert.deepEqual(rulesOf(objs, "daalu-edge-bootstrap"), rulesOf(byDefault, "daalu-edge-bootstrap"));
  }
});

test("rbac extras and custom rules add exactly what they name; Secrets only when asked", { skip }, async () => {
  const objs = await preset("read-only", "  extras: [secrets, metrics]\n  customRules:\n    - apiGroups: [cert-manager.io]\n      resources: [certificates]\n      verbs: [get, list]\n");
  assert.deepEqual(granted(objs), {
    ...READ_ONLY_GRANTS,
    "/secrets": READ,
    "metrics.k8s.io/pods": ["get", "list"],
    "metrics.k8s.io/nodes": ["get", "list"],
    "cert-manager.io/certificates": ["get", "list"],
  });
  const custom = rulesOf(objs, PROXY).at(-1)!;
  assert.deepEqual({ apiGroups: custom.apiGroups, resources: custom.resources, verbs: custom.verbs }, { apiGroups: ["cert-manager.io"], resources: ["certificates"], verbs: ["get", "list"] }, "custom rules come last, as written");
});

test("values.schema.json refuses an unknown preset, extra, rbac key or an incomplete custom rule, naming the value", { skip }, async () => {
  const cases: Array<[string[], RegExp]> = [
    [["--set", "rbac.preset=admin"], /at '\/rbac\/preset': value must be one of 'read-only', 'read-wide', 'operator'/],
    [["--set", "rbac.extras={admin}"], /at '\/rbac\/extras\/0': value must be one of 'configmaps', 'networking', 'batch', 'write-proposals', 'metrics', 'exec', 'secrets'/],
    [["--set", "rbac.customResourceGroups={Cert_Manager}"], /at '\/rbac\/customResourceGroups\/0'/],
    [["--set", "rbac.presets=operator"], /at '\/rbac': additional properties 'presets' not allowed/],
    [["--set-json", 'rbac.customRules=[{"apiGroups":[""],"resources":["pods"]}]'], /at '\/rbac\/customRules\/0': missing property 'verbs'/],
    [["--set", "hub.goodbyePort=70000"], /at '\/hub\/goodbyePort'/],
  ];
  for (const [args, message] of cases) {
    const r = await runHelm(["template", "daalu-edge", CHART, "-f", INSTALL, ...args]);
    assert.notEqual(r.code, 0, args.join(" "));
    assert.match(r.stderr, message, args.join(" "));
  }
  const lint = await runHelm(["lint", CHART, "-f", INSTALL, "--set", "rbac.preset=operator", "--set", "rbac.extras={metrics}"]);
  assert.equal(lint.code, 0, lint.stdout + lint.stderr);
});
