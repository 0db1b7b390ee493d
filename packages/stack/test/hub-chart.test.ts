/**
 * The daalu-hub chart, rendered by the real helm (`helm lint`, `helm template`) with several values files, the
 * rendered objects asserted (every service present with probes on the real endpoints, resources, PDBs, rolling
 * updates that keep capacity, the WireGuard node's capabilities and UDP exposure both ways, nothing secret in a
 * ConfigMap), wrong values refused by values.schema.json, and the objects accepted by the real
 * `kubectl apply --dry-run=client` (against the kube-double's discovery). Skips, saying why, without helm.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";
import { startKubeDouble } from "@daalu/kube-double";
import { findHelm, HELM_MISSING, REPO_ROOT, runHelm } from "@daalu/testing";

const CHART = path.join(REPO_ROOT, "deploy/daalu-hub");
const skip = findHelm() ? false : HELM_MISSING;
const DB_PASSWORD = "s3cret-db-password";
const KEK = "kek-material-never-in-a-configmap";
const dir = mkdtempSync(path.join(tmpdir(), "hub-chart-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
function valuesFile(name: string, text: string): string {
  const f = path.join(dir, `${name}.yaml`);
  writeFileSync(f, text);
  return f;
}
const BASE = valuesFile("base", `publicUrl: https://hub.example.com\nwireguard:\n  endpoint: hub.example.com:51820\n  port: 51820\n  exposure: LoadBalancer\npostgres:\n  url: postgres://daalu:${DB_PASSWORD}@pg-rw.db:5432/daalu\nnats:\n  url: nats://nats.nats:4222\nsecrets:\n  peeringKeyEncryptionKeys: ${KEK}\n`);
const HOSTNET = valuesFile("hostnet", "wireguard:\n  endpoint: 203.0.113.7:51820\n  port: 51820\n  exposure: hostNetwork\n");
const MONITORING = valuesFile("monitoring", "metrics:\n  serviceMonitor: { enabled: true }\n  prometheusRule: { enabled: true }\n  grafanaDashboard: { enabled: true }\notlp:\n  endpoint: http://otel-collector.monitoring:4318\n");
const SCALED = valuesFile("scaled", "gateway:\n  replicas: 4\n  resources: { requests: { cpu: 500m, memory: 256Mi } }\n  tlsSecret: hub-tls\n");

type Probe = { httpGet?: { path: string; port: string } };
type Container = { name: string; args?: string[]; env?: { name: string; value?: string; valueFrom?: unknown }[]; ports?: { name: string; containerPort: number; protocol: string }[]; readinessProbe?: Probe; livenessProbe?: Probe; resources?: { requests?: Record<string, string> }; securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; capabilities?: { add?: string[]; drop?: string[] } } };
type Obj = { kind: string; metadata: { name: string; labels?: Record<string, string> }; spec?: Record<string, unknown>; data?: Record<string, string>; stringData?: Record<string, string> };

async function render(...files: string[]): Promise<{ objects: Obj[]; text: string }> {
  const r = await runHelm(["template", "hub", CHART, "--namespace", "daalu", ...files.flatMap((f) => ["-f", f])]);
  assert.equal(r.code, 0, r.stderr);
  return { objects: parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj).filter(Boolean), text: r.stdout };
}
const pod = (o: Obj) => (o.spec as { template: { spec: { containers: Container[]; hostNetwork?: boolean } } }).template.spec;

test("helm lint passes with every values file", { skip }, async () => {
  for (const extra of [[], [HOSTNET], [MONITORING], [SCALED]]) {
    const r = await runHelm(["lint", CHART, "--strict", "-f", BASE, ...extra.flatMap((f) => ["-f", f])]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  }
});

test("every service is its own workload with replicas, probes on /livez and /readyz, resources, a PDB and a capacity-keeping rollout", { skip }, async () => {
  const { objects } = await render(BASE, SCALED);
  const by = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
  for (const c of ["gateway", "invite", "peering", "audit"]) {
    const d = by("Deployment", `hub-daalu-hub-${c}`);
    assert.ok(d, `Deployment ${c}`);
    assert.equal(d.spec!["replicas"], c === "gateway" ? 4 : 2);
    assert.deepEqual((d.spec!["strategy"] as { rollingUpdate: unknown }).rollingUpdate, { maxSurge: 1, maxUnavailable: 0 });
    const [ctr] = pod(d).containers;
    assert.deepEqual(ctr!.args, [`services/${c}/dist/main.js`]);
    assert.deepEqual(ctr!.livenessProbe?.httpGet, { path: "/livez", port: "metrics" });
    assert.deepEqual(ctr!.readinessProbe?.httpGet, { path: "/readyz", port: "metrics" });
    assert.ok(ctr!.resources?.requests?.["memory"], `${c} requests`);
    assert.equal(ctr!.securityContext?.runAsNonRoot, true);
    assert.deepEqual(ctr!.securityContext?.capabilities?.drop, ["ALL"]);
    assert.ok(by("PodDisruptionBudget", `hub-daalu-hub-${c}`), `PDB ${c}`);
    assert.equal(by("Service", `hub-daalu-hub-${c}-metrics`)?.metadata.labels?.["daalu.io/metrics"], "true");
  }
  assert.equal(pod(by("Deployment", "hub-daalu-hub-gateway")!).containers[0]!.resources?.requests?.["cpu"], "500m");
  assert.ok(by("PodDisruptionBudget", "hub-daalu-hub-wireguard-node"));
});

test("the WireGuard node: NET_ADMIN only, with the tunnel-proxy beside it; UDP 51820 by LoadBalancer or hostNetwork", { skip }, async () => {
  const lb = await render(BASE);
  const sts = lb.objects.find((o) => o.kind === "StatefulSet")!;
  const [peering, proxy] = pod(sts).containers;
  assert.equal(peering!.name, "peering");
  assert.deepEqual(peering!.securityContext?.capabilities, { drop: ["ALL"], add: ["NET_ADMIN"] });
  assert.equal(peering!.env?.find((e) => e.name === "PEERING_WG")?.value, "on");
  assert.deepEqual(peering!.ports?.find((p) => p.name === "wireguard"), { name: "wireguard", containerPort: 51820, protocol: "UDP" });
  assert.equal(proxy!.name, "tunnel-proxy");
  assert.equal(proxy!.securityContext?.runAsNonRoot, true);
  assert.equal(proxy!.securityContext?.capabilities?.add, undefined);
  assert.deepEqual(proxy!.readinessProbe?.httpGet, { path: "/readyz", port: "proxy-metrics" });
  const udp = lb.objects.find((o) => o.kind === "Service" && o.metadata.name === "hub-daalu-hub-wireguard")!;
  assert.equal(udp.spec!["type"], "LoadBalancer");
  assert.deepEqual(udp.spec!["ports"], [{ name: "wireguard", port: 51820, targetPort: "wireguard", protocol: "UDP" }]);

  const hn = await render(BASE, HOSTNET);
  assert.equal(pod(hn.objects.find((o) => o.kind === "StatefulSet")!).hostNetwork, true);
  assert.equal(hn.objects.find((o) => o.metadata.name === "hub-daalu-hub-wireguard"), undefined, "no LoadBalancer with hostNetwork");
  assert.equal(hn.objects.find((o) => o.kind === "ConfigMap")!.data!["PEERING_HUB_ENDPOINT"], "203.0.113.7:51820");
});

test("secrets only in the Secret: never in a ConfigMap, referenced by secretKeyRef", { skip }, async () => {
  const { objects } = await render(BASE, MONITORING);
  for (const cm of objects.filter((o) => o.kind === "ConfigMap")) {
    const text = JSON.stringify(cm.data);
    for (const s of [DB_PASSWORD, KEK, "DATABASE_URL", "NATS_URL", "PEERING_KEY_ENCRYPTION_KEYS"]) assert.ok(!text.includes(s), `${cm.metadata.name} holds ${s}`);
  }
  const secret = objects.find((o) => o.kind === "Secret")!;
  assert.deepEqual(Object.keys(secret.stringData!).sort(), ["DATABASE_URL", "NATS_URL", "PEERING_KEY_ENCRYPTION_KEYS"]);
  for (const w of objects.filter((o) => o.kind === "Deployment" || o.kind === "StatefulSet")) {
    for (const c of pod(w).containers) {
      const db = c.env?.find((e) => e.name === "DATABASE_URL");
      assert.deepEqual(db?.valueFrom, { secretKeyRef: { name: "hub-daalu-hub-secrets", key: "DATABASE_URL" } }, `${w.metadata.name}/${c.name}`);
      assert.ok(!JSON.stringify(c.env).includes(DB_PASSWORD));
    }
  }
});

test("monitoring: ServiceMonitor, the PrometheusRule's three alerts and the Grafana dashboard on the services' metric names", { skip }, async () => {
  const { objects } = await render(BASE, MONITORING);
  assert.ok(objects.find((o) => o.kind === "ServiceMonitor"));
  const rule = objects.find((o) => o.kind === "PrometheusRule")!;
  const rules = (rule.spec!["groups"] as { rules: { alert: string; expr: string; labels: { severity: string } }[] }[])[0]!.rules;
  const alert = (n: string) => rules.find((r) => r.alert === n)!;
  assert.match(alert("DaaluTunnelDown").expr, /daalu_tunnel_down_seconds\) > 900$/);
  assert.equal(alert("DaaluTunnelDown").labels.severity, "critical");
  assert.equal(alert("DaaluHubNodeDown").labels.severity, "critical");
  assert.match(alert("DaaluAuditLag").expr, /daalu_audit_last_write_lag_seconds/);
  const dash = JSON.parse(objects.find((o) => o.kind === "ConfigMap" && o.metadata.name.endsWith("-dashboard"))!.data!["daalu-hub.json"]!) as { panels: { targets: { expr: string }[] }[] };
  const exprs = dash.panels.flatMap((p) => p.targets.map((t) => t.expr)).join("\n");
  for (const m of ["daalu_tunnels", "daalu_proxy_calls_total", "daalu_audit_pending_records", "daalu_invite_redemptions_total"]) assert.ok(exprs.includes(m), m);
  assert.equal(objects.find((o) => o.kind === "ConfigMap" && o.metadata.name.endsWith("-config"))!.data!["OTEL_EXPORTER_OTLP_ENDPOINT"], "http://otel-collector.monitoring:4318");
});

test("edge releases: the upgrade command names the public URL; edge.minVersion sets the oldest supported edge", { skip }, async () => {
  const config = (objects: Obj[]) => objects.find((o) => o.kind === "ConfigMap" && o.metadata.name.endsWith("-config"))!.data!;
  const plain = config((await render(BASE)).objects);
  assert.equal(plain["PEERING_HUB_URL"], "https://hub.example.com");
  assert.equal(plain["PEERING_EDGE_MIN_VERSION"], undefined, "peering's default unless set");
  assert.equal(config((await render(BASE, valuesFile("edge-min", "edge:\n  minVersion: 0.2.0\n"))).objects)["PEERING_EDGE_MIN_VERSION"], "0.2.0");
  const bad = await runHelm(["template", "hub", CHART, "-f", BASE, "--set", "edge.minVersion=latest"]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /minVersion/);
});

test("values.schema.json refuses wrong values with a message naming the field", { skip }, async () => {
  const cases: [string, string, RegExp][] = [
    ["replicas0", "invite:\n  replicas: 0\n", /\/invite\/replicas/],
    ["exposure", "wireguard:\n  endpoint: h:1\n  port: 51820\n  exposure: NodePort\n", /\/wireguard\/exposure/],
    ["endpoint", "wireguard:\n  endpoint: no-port\n  port: 51820\n  exposure: LoadBalancer\n", /\/wireguard\/endpoint/],
    ["pgurl", "postgres:\n  url: mysql://x\n", /\/postgres\/url/],
    ["unknown", "gatway:\n  replicas: 2\n", /gatway/],
  ];
  for (const [name, text, want] of cases) {
    const r = await runHelm(["template", "hub", CHART, "-f", BASE, "-f", valuesFile(name, text)]);
    assert.notEqual(r.code, 0, `${name} accepted`);
    assert.match(r.stderr, want, name);
  }
  const missing = await runHelm(["template", "hub", CHART, "--set", "wireguard.endpoint=h:1"]);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /publicUrl is required/);
});

test("kubectl apply --dry-run=client accepts the rendered objects", { skip }, async (t) => {
  const kube = await startKubeDouble();
  t.after(() => kube.close());
  // The kube-double serves core, apps and policy discovery; the monitoring CRDs are checked above.
  const { text } = await render(BASE, SCALED);
  const manifest = valuesFile("rendered", text);
  const kubeconfig = valuesFile("kubeconfig", kube.kubeconfig({ token: "admin-token" }));
  const r = await promisify(execFile)("kubectl", ["--kubeconfig", kubeconfig, "apply", "--dry-run=client", "--validate=false", "-n", "daalu", "-f", manifest]);
  for (const want of ["deployment.apps/hub-daalu-hub-gateway", "statefulset.apps/hub-daalu-hub-wireguard-node", "poddisruptionbudget.policy/hub-daalu-hub-audit", "secret/hub-daalu-hub-secrets", "service/hub-daalu-hub-wireguard"]) {
    assert.match(r.stdout, new RegExp(`${want.replace(/[./]/g, "\\$&")} created \\(dry run\\)`), r.stdout);
  }
});
