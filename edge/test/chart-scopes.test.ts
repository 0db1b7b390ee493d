/**
 * The one-source promise of RBAC widening: for every named scope of
 * @daalu/rbac (each preset, each extra, a custom-resources group) and for
 * custom rules, the manifest the hub generates and the chart rendered by the
 * real helm with the generated values give the same ClusterRole (name,
 * labels, preset annotation, rules in order) and the same binding; once with
 * the values snippet (-f) and once with the printed command's flags on top
 * of an install's values (--reuse-values keeps those).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { generatePatch, SCOPES, type Selection } from "@daalu/rbac";
import { CHART, HUB, INSTALL, NS, one, render, skip, valuesFile } from "./chart-kit.js";

const chart = parse(readFileSync(path.join(CHART, "Chart.yaml"), "utf8")) as { version: string; appVersion: string };
const target = (release: string) => ({ release, namespace: NS, chartVersion: chart.version, appVersion: chart.appVersion, hubUrl: HUB });

const SELECTIONS: Array<[string, Selection]> = [
  ...SCOPES.map((s): [string, Selection] => [s.name, { scopes: [s.name] }]),
  ["custom-resources:cert-manager.io", { scopes: ["custom-resources:cert-manager.io"] }],
  ["custom rules", { scopes: [], customRules: [{ apiGroups: ["example.com"], resources: ["widgets"], resourceNames: ["w1"], verbs: ["get"] }] }],
  ["everything at once", { scopes: [...SCOPES.map((s) => s.name), "custom-resources:argoproj.io", "custom-resources:cert-manager.io"], customRules: [{ apiGroups: [""], resources: ["serviceaccounts"], verbs: ["get", "list"] }] }],
  ["extras on read-wide", { scopes: ["read-wide", "configmaps", "exec", "write-proposals"] }],
];

const RBAC_KINDS = ["ClusterRole", "ClusterRoleBinding"];

for (const [name, sel] of SELECTIONS) {
  test(`rbac scope ${name}: the generated manifest equals the chart rendered with the generated values`, { skip }, async () => {
    for (const release of ["daalu-edge", "prod"]) {
      const p = generatePatch(sel, target(release));
      const fromValues = await render([INSTALL, valuesFile(`scope-${release}`, p.valuesYaml)], release);
      const fromFlags = await render([INSTALL], release, { args: p.helmArgs });
      for (const [how, objs] of [["values", fromValues], ["flags", fromFlags]] as const) {
        const generated = p.objects as Array<{ kind: string; metadata: { name: string } }>;
        for (const want of generated) {
          assert.deepEqual(one(objs, want.kind, want.metadata.name), want, `${name} (${release}, ${how}): ${want.kind} ${want.metadata.name}`);
        }
        // The proxy account's ClusterRole and binding are the only cluster-wide RBAC the chart renders.
        assert.deepEqual(objs.filter((o) => RBAC_KINDS.includes(o.kind)).map((o) => `${o.kind}/${o.metadata.name}`).sort(), generated.map((o) => `${o.kind}/${o.metadata.name}`).sort());
      }
    }
  });
}
