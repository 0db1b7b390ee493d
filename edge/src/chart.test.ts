/**
 * The daalu-edge chart, checked without helm (no Debian package; the binary
 * cannot be downloaded here): the templates' static parts are parsed as YAML
 * after template actions are blanked, and the security context, RBAC rules,
 * hook and probes are asserted on the result. Every `.Values.x` a template uses
 * must exist in values.yaml, and every EDGE_* variable the chart sets must be
 * one config.ts reads.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadAllYaml, loadYaml } from "@kubernetes/client-node";

const here = path.dirname(fileURLToPath(import.meta.url));
const CHART = path.resolve(here, "../../deploy/daalu-edge");
const templates = readdirSync(path.join(CHART, "templates")).filter((f) => f.endsWith(".yaml"));
const sources = Object.fromEntries(templates.map((f) => [f, readFileSync(path.join(CHART, "templates", f), "utf8")]));
const values = loadYaml<Record<string, unknown>>(readFileSync(path.join(CHART, "values.yaml"), "utf8"));

/** Blanks template actions: control lines go, inline actions become a placeholder scalar. */
function staticParts(src: string): string {
  return src
    .split("\n")
    .filter((l) => !/^\s*\{\{-?\s*(if|else|end|with|range|include)\b.*\}\}\s*$/.test(l))
    .map((l) => l.replace(/\{\{-?.*?-?\}\}/g, "TPL"))
    .join("\n");
}

interface K8sObject {
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  [k: string]: unknown;
}
// client-node returns typed model instances; a JSON round-trip makes them plain objects to compare.
const objects: K8sObject[] = templates.flatMap((f) => (JSON.parse(JSON.stringify(loadAllYaml(staticParts(sources[f]!), { json: true }))) as K8sObject[]).filter(Boolean));
const byKind = (kind: string) => objects.filter((o) => o.kind === kind);

type Container = {
  name: string;
  args?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: unknown }>;
  securityContext?: Record<string, unknown>;
  readinessProbe?: { httpGet?: { path: string } };
  livenessProbe?: { httpGet?: { path: string } };
};
type PodSpec = { containers: Container[]; hostNetwork?: boolean; hostPID?: boolean; serviceAccountName?: string; restartPolicy?: string };
const podOf = (o: K8sObject) => (o["spec"] as { template: { spec: PodSpec } }).template.spec;

test("every template parses and the chart has the expected objects", () => {
  const kinds = objects.map((o) => o.kind).sort();
  assert.deepEqual(kinds, ["ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment", "Job", "Role", "Role", "RoleBinding", "RoleBinding", "Secret", "ServiceAccount", "ServiceAccount", "ServiceAccount"]);
  const chart = loadYaml<Record<string, string>>(readFileSync(path.join(CHART, "Chart.yaml"), "utf8"));
  assert.equal(chart["name"], "daalu-edge");
  assert.equal(chart["apiVersion"], "v2");
});

test("values hold what the install command and the operator set", () => {
  const v = values as { hub: Record<string, unknown>; bootstrap: Record<string, unknown>; wg: Record<string, unknown>; image: Record<string, unknown>; resources: unknown };
  for (const k of ["url", "caBundle"]) assert.ok(k in v.hub, `hub.${k}`);
  assert.ok("token" in v.bootstrap);
  assert.equal(v.wg["keepalive"], 25);
  assert.equal(v.wg["interface"], "dle0");
  for (const k of ["repository", "tag", "pullPolicy"]) assert.ok(k in v.image, `image.${k}`);
  assert.ok(v.resources);
});

test("every .Values reference exists in values.yaml", () => {
  for (const [file, src] of Object.entries(sources)) {
    for (const m of src.matchAll(/\.Values((?:\.[A-Za-z0-9_]+)+)/g)) {
      let cur: unknown = values;
      for (const part of m[1]!.slice(1).split(".")) {
        assert.ok(cur !== null && typeof cur === "object" && part in (cur as object), `${file}: .Values${m[1]} is not in values.yaml`);
        cur = (cur as Record<string, unknown>)[part];
      }
    }
  }
});

test("the agent runs unprivileged with NET_ADMIN only, one replica, probes on /readyz and /healthz", () => {
  const [dep] = byKind("Deployment");
  assert.ok(dep);
  const spec = dep["spec"] as { replicas: number; strategy: { type: string } };
  assert.equal(spec.replicas, 1);
  assert.equal(spec.strategy.type, "Recreate");
  const pod = podOf(dep);
  assert.notEqual(pod.hostNetwork, true);
  assert.notEqual(pod.hostPID, true);
  const [c] = pod.containers;
  assert.equal(pod.containers.length, 1);
  assert.deepEqual(c!.args, ["run"]);
  assert.equal(c!.securityContext!["privileged"], false);
  assert.equal(c!.securityContext!["allowPrivilegeEscalation"], false);
  assert.deepEqual(c!.securityContext!["capabilities"], { drop: ["ALL"], add: ["NET_ADMIN"] });
  assert.equal(c!.readinessProbe?.httpGet?.path, "/readyz");
  assert.equal(c!.livenessProbe?.httpGet?.path, "/healthz");
});

test("the bootstrap Job is a post-install hook, runs as non-root with no capabilities, and gets the token from a Secret", () => {
  const [job] = byKind("Job");
  assert.ok(job);
  assert.equal(job.metadata.annotations?.["helm.sh/hook"], "post-install");
  const pod = podOf(job);
  assert.equal(pod.restartPolicy, "Never");
  const [c] = pod.containers;
  assert.deepEqual(c!.args, ["bootstrap"]);
  assert.deepEqual(c!.securityContext!["capabilities"], { drop: ["ALL"] });
  assert.equal(c!.securityContext!["privileged"], false);
  assert.equal(c!.securityContext!["allowPrivilegeEscalation"], false);
  const token = c!.env!.find((e) => e.name === "EDGE_BOOTSTRAP_TOKEN");
  assert.ok(token?.valueFrom && !("value" in token), "token comes from a secretKeyRef, not the pod spec");
  assert.match(sources["bootstrap-job.yaml"]!, /serviceAccountName: \{\{ include "daalu-edge.fullname" \. \}\}-bootstrap/);
});

type Rule = { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] };
type Binding = { roleRef: { kind: string; name: string }; subjects: Array<{ kind: string; name: string }> };
/** Every rule bound to a ServiceAccount (by its name after template blanking: "TPL" is the release's fullname). */
function rulesOf(sa: string): Rule[] {
  return [...byKind("ClusterRoleBinding"), ...byKind("RoleBinding")]
    .filter((b) => (b as unknown as Binding).subjects.some((s) => s.kind === "ServiceAccount" && s.name === sa))
    .flatMap((b) => {
      const ref = (b as unknown as Binding).roleRef;
      const role = byKind(ref.kind).find((r) => r.metadata.name === ref.name);
      assert.ok(role, `${b.metadata.name} binds ${ref.kind} ${ref.name}, which the chart has`);
      return role["rules"] as Rule[];
    });
}

test("RBAC: calls for the hub run as the proxy account, which has no Secrets; the pod's account only gets its one Secret", () => {
  const names = byKind("ServiceAccount").map((s) => s.metadata.name).sort();
  assert.deepEqual(names, ["TPL", "TPL-bootstrap", "TPL-proxy"]);
  const proxy = rulesOf("TPL-proxy");
  assert.ok(proxy.length > 0, "the proxy account has the read-only ClusterRole");
  assert.ok(proxy.every((r) => !r.resources.some((x) => x === "secrets" || x === "*" || x.startsWith("secrets/") || x.startsWith("serviceaccounts"))), "no secrets, wildcards or token minting for the proxy account");
  assert.ok(proxy.every((r) => r.verbs.every((v) => ["get", "list", "watch"].includes(v))));
  // The pod's account: get on its one Secret by name, create tokens of the proxy account by name, nothing else.
  assert.deepEqual(rulesOf("TPL"), [
    { apiGroups: [""], resources: ["secrets"], resourceNames: ["TPL"], verbs: ["get"] },
    { apiGroups: [""], resources: ["serviceaccounts/token"], resourceNames: ["TPL-proxy"], verbs: ["create"] },
  ]);
  assert.equal(byKind("ServiceAccount").find((s) => s.metadata.name === "TPL-proxy")!["automountServiceAccountToken"], false);
  const pod = podOf(byKind("Deployment")[0]!);
  assert.equal(pod.serviceAccountName, "TPL");
  assert.equal(pod.containers[0]!.env!.find((e) => e.name === "EDGE_PROXY_SERVICE_ACCOUNT")?.value, "TPL-proxy");
});

test("RBAC: the agent reads, never writes, and sees no secrets but its own", () => {
  const [cr] = byKind("ClusterRole");
  const rules = cr!["rules"] as Rule[];
  const granted = new Map<string, string[]>();
  for (const r of rules) for (const g of r.apiGroups) for (const res of r.resources) granted.set(`${g}/${res}`, [...(granted.get(`${g}/${res}`) ?? []), ...r.verbs].sort());
  assert.deepEqual(Object.fromEntries(granted), {
    "/pods": ["get", "list", "watch"],
    "/services": ["get", "list", "watch"],
    "/events": ["get", "list", "watch"],
    "/nodes": ["get", "list", "watch"],
    "/namespaces": ["get", "list", "watch"],
    "apps/deployments": ["get", "list", "watch"],
    "apps/statefulsets": ["get", "list", "watch"],
    "apps/daemonsets": ["get", "list", "watch"],
    "apps/replicasets": ["get", "list", "watch"],
    "/pods/log": ["get"],
  });
  const roles = byKind("Role");
  const agent = roles.find((r) => r.metadata.name.endsWith("-agent"))!;
  assert.deepEqual((agent["rules"] as Rule[]).filter((r) => r.resources.includes("secrets")), [{ apiGroups: [""], resources: ["secrets"], resourceNames: ["TPL"], verbs: ["get"] }]);
  const boot = roles.find((r) => r.metadata.name.endsWith("-bootstrap"))!;
  const bootRules = boot["rules"] as Array<{ resources: string[]; verbs: string[] }>;
  assert.deepEqual(bootRules.filter((r) => r.resources.includes("secrets")).flatMap((r) => r.verbs).sort(), ["create", "get", "update"]);
  assert.ok(bootRules.every((r) => r.verbs.every((v) => ["create", "get", "update"].includes(v))), "no list/delete/watch for the Job");
});

test("every EDGE_* variable the chart sets is one config.ts reads", () => {
  const config = readFileSync(path.join(here, "config.ts"), "utf8");
  const known = new Set([...config.matchAll(/"(EDGE_[A-Z_]+)"/g)].map((m) => m[1]));
  for (const kind of ["Deployment", "Job"]) {
    for (const c of podOf(byKind(kind)[0]!).containers) {
      for (const e of c.env ?? []) if (e.name.startsWith("EDGE_")) assert.ok(known.has(e.name), `${kind} sets ${e.name}, which config.ts does not read`);
    }
  }
});
