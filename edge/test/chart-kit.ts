/**
 * What the chart tests share: the real helm's `helm template` of
 * deploy/daalu-edge (or another chart directory), parsed into objects, and
 * lookups over them (one object, a pod spec, an env var, the RBAC a
 * ServiceAccount ends up with through the rendered bindings).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { findHelm, HELM_MISSING, runHelm } from "@daalu/testing";
import { presetRules, READ as RBAC_READ, type Rule } from "@daalu/rbac";

export const here = path.dirname(fileURLToPath(import.meta.url));
export const CHART = path.resolve(here, "../../deploy/daalu-edge");
export const skip = findHelm() ? false : HELM_MISSING;
export const NS = "daalu-edge";
export const HUB = "https://hub.example.com";
export const TOKEN = "dfi1_chart_test_token";

const dir = mkdtempSync(path.join(tmpdir(), "edge-chart-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
export function valuesFile(name: string, text: string): string {
  const f = path.join(dir, `${name}.yaml`);
  writeFileSync(f, text);
  return f;
}
/** What the printed `helm install` sets. */
export const INSTALL = valuesFile("install", `hub:\n  url: ${HUB}\nbootstrap:\n  token: ${TOKEN}\n`);

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  [k: string]: unknown;
}
export type Env = { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: unknown } };
export type Container = {
  name: string;
  image?: string;
  args?: string[];
  env?: Env[];
  securityContext?: Record<string, unknown> & { capabilities?: { add?: string[]; drop?: string[] } };
  readinessProbe?: { httpGet?: { path: string } };
  livenessProbe?: { httpGet?: { path: string } };
  volumeMounts?: Array<{ name: string; mountPath: string }>;
};
export type Volume = { name: string; hostPath?: { path: string; type?: string }; configMap?: { name: string } };
export type PodSpec = {
  containers: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  serviceAccountName?: string;
  restartPolicy?: string;
  securityContext?: Record<string, unknown>;
};
/** The verbs of a read. */
export const READ = [...RBAC_READ];

/** group/resource → sorted verbs: what a list of rules grants, whatever the order or grouping of its rules. */
export function grantsOf(rules: readonly Rule[]): Record<string, string[]> {
  const g: Record<string, string[]> = {};
  for (const r of rules) {
    for (const group of r.apiGroups) for (const res of r.resources) g[`${group}/${res}`] = [...new Set([...(g[`${group}/${res}`] ?? []), ...r.verbs])].sort();
  }
  return g;
}

/** What the default (read-only) RBAC grants the proxy account (from @daalu/rbac, the one source of the presets). */
export const READ_ONLY_GRANTS: Record<string, string[]> = grantsOf(presetRules("read-only"));

export type { Rule };
export type Binding = K8sObject & { roleRef: { kind: string; name: string }; subjects: Array<{ kind: string; name: string; namespace?: string }> };

/** `helm template` of `chart` with these values files (and extra flags, e.g. --is-upgrade, --set). */
export async function render(files: string[], release = "daalu-edge", opts: { chart?: string; args?: string[] } = {}): Promise<K8sObject[]> {
  const r = await runHelm(["template", release, opts.chart ?? CHART, "--namespace", NS, ...files.flatMap((f) => ["-f", f]), ...(opts.args ?? [])]);
  assert.equal(r.code, 0, r.stderr);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}
export const one = (objs: K8sObject[], kind: string, name?: string): K8sObject => {
  const found = objs.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  assert.equal(found.length, 1, `exactly one ${kind} ${name ?? ""}`);
  return found[0]!;
};
export const podOf = (o: K8sObject) => (o["spec"] as { template: { spec: PodSpec } }).template.spec;
export const envOf = (c: Container, name: string) => c.env?.find((e) => e.name === name);

/** Every rule bound to a ServiceAccount of the release's namespace, through the rendered bindings. */
export function rulesOf(objs: K8sObject[], sa: string): Array<Rule & { via: string }> {
  return objs
    .filter((o) => o.kind === "RoleBinding" || o.kind === "ClusterRoleBinding")
    .map((o) => o as Binding)
    .filter((b) => b.subjects.some((s) => s.kind === "ServiceAccount" && s.name === sa && s.namespace === NS))
    .flatMap((b) => (one(objs, b.roleRef.kind, b.roleRef.name)["rules"] as Rule[]).map((r) => ({ ...r, via: `${b.kind}/${b.roleRef.kind}` })));
}
