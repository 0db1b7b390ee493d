/**
 * The daalu-edge chart, rendered by the real helm (`helm lint`, `helm template`)
 * with the values an install uses, a CA bundle, a tun device and HTTP targets.
 * The rendered objects are asserted: exactly these kinds and names, the agent's
 * and the Job's security contexts, and the RBAC each ServiceAccount ends up with
 * (resolved through the bindings). Skips, saying why, when there is no helm
 * (scripts/ensure-helm.sh puts one at .tools/bin/helm; scripts/test.sh runs it).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { runHelm } from "@daalu/testing";
import { CHART, envOf, here, HUB, INSTALL, NS, one, podOf, READ, READ_ONLY_GRANTS, render, rulesOf, skip, TOKEN, valuesFile, type Binding, type Rule } from "./chart-kit.js";

const CA = "-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n";
const WITH_CA = valuesFile("ca", `hub:\n  caBundle: |\n${CA.trimEnd().split("\n").map((l) => `    ${l}`).join("\n")}\n`);
const WITH_TUN = valuesFile("tun", "wg:\n  mountTunDevice: true\n");
const TARGETS = "prometheus=prometheus-server.monitoring.svc:9090,loki=loki.monitoring.svc:3100";
const WITH_TARGETS = valuesFile("targets", `httpTargets: "${TARGETS}"\n`);

test("helm lint accepts the chart with the install values", { skip }, async () => {
  const r = await runHelm(["lint", CHART, "--namespace", NS, "-f", INSTALL, "-f", WITH_CA, "-f", WITH_TUN, "-f", WITH_TARGETS]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
});

test("without bootstrap.token or hub.url, helm template fails with the chart's message", { skip }, async () => {
  const noToken = await runHelm(["template", "daalu-edge", CHART, "--set", `hub.url=${HUB}`]);
  assert.notEqual(noToken.code, 0);
  assert.match(noToken.stderr, /bootstrap\.token is required \(the token shown by "Add cluster"\)/);
  const noUrl = await runHelm(["template", "daalu-edge", CHART, "--set", `bootstrap.token=${TOKEN}`]);
  assert.notEqual(noUrl.code, 0);
  assert.match(noUrl.stderr, /hub\.url is required/);
});

test("the install renders exactly the promised objects, nothing else", { skip }, async () => {
  const objs = await render([INSTALL]);
  assert.deepEqual(objs.map((o) => `${o.kind}/${o.metadata.name}`).sort(), [
    "ClusterRole/daalu-edge-daalu-edge-read",
    "ClusterRoleBinding/daalu-edge-daalu-edge-read",
    "ConfigMap/daalu-edge-hub-ca",
    "Deployment/daalu-edge",
    "Job/daalu-edge-bootstrap",
    "Role/daalu-edge-agent",
    "Role/daalu-edge-bootstrap",
    "RoleBinding/daalu-edge-agent",
    "RoleBinding/daalu-edge-bootstrap",
    "Secret/daalu-edge-bootstrap-token",
    "ServiceAccount/daalu-edge",
    "ServiceAccount/daalu-edge-bootstrap",
    "ServiceAccount/daalu-edge-proxy",
  ]);
  // The same set whatever the options.
  const all = await render([INSTALL, WITH_CA, WITH_TUN, WITH_TARGETS]);
  assert.deepEqual(all.map((o) => `${o.kind}/${o.metadata.name}`).sort(), objs.map((o) => `${o.kind}/${o.metadata.name}`).sort());
});

test("the agent: one replica, Recreate, NET_ADMIN the only capability, nothing privileged, no host namespaces", { skip }, async () => {
  for (const files of [[INSTALL], [INSTALL, WITH_TUN]]) {
    const dep = one(await render(files), "Deployment");
    const spec = dep["spec"] as { replicas: number; strategy: { type: string } };
    assert.equal(spec.replicas, 1);
    assert.equal(spec.strategy.type, "Recreate");
    const pod = podOf(dep);
    for (const k of ["hostNetwork", "hostPID", "hostIPC"] as const) assert.notEqual(pod[k], true, k);
    assert.equal(pod.initContainers, undefined);
    assert.equal(pod.containers.length, 1);
    const c = pod.containers[0]!;
    assert.deepEqual(c.args, ["run"]);
    assert.equal(c.securityContext?.["privileged"], false);
    assert.equal(c.securityContext?.["allowPrivilegeEscalation"], false);
    assert.equal(c.securityContext?.["readOnlyRootFilesystem"], true);
    assert.deepEqual(c.securityContext?.capabilities, { drop: ["ALL"], add: ["NET_ADMIN"] });
    assert.equal(c.readinessProbe?.httpGet?.path, "/readyz");
    assert.equal(c.livenessProbe?.httpGet?.path, "/healthz");
    const hostPaths = (pod.volumes ?? []).filter((v) => v.hostPath);
    if (files.includes(WITH_TUN)) {
      // The one host path: the tun device wireguard-go needs, mounted where it looks for it.
      assert.deepEqual(hostPaths, [{ name: "tun", hostPath: { path: "/dev/net/tun", type: "CharDevice" } }]);
      assert.ok(c.volumeMounts?.some((m) => m.name === "tun" && m.mountPath === "/dev/net/tun"));
    } else {
      assert.deepEqual(hostPaths, []);
    }
  }
});

test("the bootstrap Job: post-install hook, non-root, no capabilities, the token from the chart's Secret", { skip }, async () => {
  const objs = await render([INSTALL]);
  const job = one(objs, "Job");
  assert.equal(job.metadata.annotations?.["helm.sh/hook"], "post-install");
  const pod = podOf(job);
  assert.equal(pod.restartPolicy, "Never");
  assert.equal(pod.serviceAccountName, "daalu-edge-bootstrap");
  assert.equal(pod.securityContext?.["runAsNonRoot"], true);
  assert.notEqual(pod.securityContext?.["runAsUser"], 0);
  for (const k of ["hostNetwork", "hostPID", "hostIPC"] as const) assert.notEqual(pod[k], true, k);
  assert.equal(pod.containers.length, 1);
  const c = pod.containers[0]!;
  assert.deepEqual(c.args, ["bootstrap"]);
  assert.deepEqual(c.securityContext?.capabilities, { drop: ["ALL"] });
  assert.equal(c.securityContext?.["privileged"], false);
  assert.equal(c.securityContext?.["allowPrivilegeEscalation"], false);
  const token = envOf(c, "EDGE_BOOTSTRAP_TOKEN")!;
  assert.equal(token.value, undefined, "the token is not in the pod spec");
  assert.deepEqual(token.valueFrom?.secretKeyRef, { name: "daalu-edge-bootstrap-token", key: "token" });
  assert.equal((one(objs, "Secret", "daalu-edge-bootstrap-token")["stringData"] as Record<string, string>)["token"], TOKEN);
  assert.equal(envOf(c, "EDGE_HUB_URL")?.value, HUB);
  assert.equal(envOf(c, "EDGE_SERVICE_ACCOUNT")?.value, "daalu-edge", "the Secret is owned by the agent's account");
  assert.ok(!envOf(c, "EDGE_HUB_CA_FILE")?.value, "no CA file without a bundle");
});

test("a CA bundle reaches the Job as a file; httpTargets reach the agent as EDGE_HTTP_TARGETS", { skip }, async () => {
  const objs = await render([INSTALL, WITH_CA, WITH_TARGETS]);
  assert.equal((one(objs, "ConfigMap", "daalu-edge-hub-ca")["data"] as Record<string, string>)["ca.crt"], CA);
  const job = podOf(one(objs, "Job"));
  const c = job.containers[0]!;
  const mount = c.volumeMounts!.find((m) => m.name === "hub-ca")!;
  assert.equal(envOf(c, "EDGE_HUB_CA_FILE")?.value, `${mount.mountPath}/ca.crt`);
  assert.equal(job.volumes!.find((v) => v.name === "hub-ca")?.configMap?.name, "daalu-edge-hub-ca");
  assert.equal(envOf(podOf(one(objs, "Deployment")).containers[0]!, "EDGE_HTTP_TARGETS")?.value, TARGETS);
  const plain = await render([INSTALL]);
  assert.equal(envOf(podOf(one(plain, "Deployment")).containers[0]!, "EDGE_HTTP_TARGETS"), undefined);
});

test("RBAC: the proxy account reads, never writes, no Secrets, no wildcards; the pod's account only its Secret and proxy tokens", { skip }, async () => {
  for (const release of ["daalu-edge", "edge-eu"]) {
    const objs = await render([INSTALL], release);
    const full = release === "daalu-edge" ? "daalu-edge" : `${release}-daalu-edge`;
    assert.deepEqual(objs.filter((o) => o.kind === "ServiceAccount").map((o) => o.metadata.name).sort(), [full, `${full}-bootstrap`, `${full}-proxy`]);
    assert.equal(one(objs, "ServiceAccount", `${full}-proxy`)["automountServiceAccountToken"], false, "no pod mounts the proxy account's token");
    const agent = podOf(one(objs, "Deployment"));
    assert.equal(agent.serviceAccountName, full);
    assert.equal(envOf(agent.containers[0]!, "EDGE_PROXY_SERVICE_ACCOUNT")?.value, `${full}-proxy`);

    const proxy = rulesOf(objs, `${full}-proxy`);
    assert.ok(proxy.length > 0 && proxy.every((r) => r.via === "ClusterRoleBinding/ClusterRole"));
    for (const r of proxy) {
      for (const k of ["apiGroups", "resources", "verbs", "resourceNames"] as const) assert.ok(!(r[k] ?? []).includes("*"), `no wildcard in ${k}: ${JSON.stringify(r)}`);
      assert.ok(r.verbs.every((v) => READ.includes(v)), `read verbs only: ${JSON.stringify(r)}`);
      assert.ok(!r.resources.some((x) => x === "secrets" || x.startsWith("serviceaccounts") || ["pods/exec", "pods/attach", "pods/portforward", "nodes/proxy"].includes(x)), JSON.stringify(r));
    }
    const granted: Record<string, string[]> = {};
    for (const r of proxy) for (const g of r.apiGroups) for (const res of r.resources) granted[`${g}/${res}`] = [...(granted[`${g}/${res}`] ?? []), ...r.verbs].sort();
    assert.deepEqual(granted, READ_ONLY_GRANTS);

    const strip = (rs: Array<Rule & { via: string }>) => rs.map(({ via, ...r }) => ({ via, ...r }));
    assert.deepEqual(strip(rulesOf(objs, full)), [
      { via: "RoleBinding/Role", apiGroups: [""], resources: ["secrets"], resourceNames: ["daalu-edge-tunnel"], verbs: ["get"] },
      { via: "RoleBinding/Role", apiGroups: [""], resources: ["serviceaccounts/token"], resourceNames: [`${full}-proxy`], verbs: ["create"] },
    ]);
    assert.deepEqual(strip(rulesOf(objs, `${full}-bootstrap`)), [
      { via: "RoleBinding/Role", apiGroups: [""], resources: ["secrets"], verbs: ["create"] },
      { via: "RoleBinding/Role", apiGroups: [""], resources: ["secrets"], resourceNames: ["daalu-edge-tunnel"], verbs: ["get", "update"] },
      // create cannot be limited by name in Kubernetes RBAC: the Role is namespaced, get/update are by name.
      { via: "RoleBinding/Role", apiGroups: [""], resources: ["configmaps"], verbs: ["create"] },
      { via: "RoleBinding/Role", apiGroups: [""], resources: ["configmaps"], resourceNames: ["daalu-edge-tunnel-public"], verbs: ["get", "update"] },
      { via: "RoleBinding/Role", apiGroups: [""], resources: ["serviceaccounts"], resourceNames: [full], verbs: ["get"] },
    ]);
    // The Job writes the ConfigMap its Role names, with the keepalive the agent applies.
    const job = podOf(one(objs, "Job")).containers[0]!;
    assert.equal(envOf(job, "EDGE_PUBLIC_CONFIGMAP_NAME")?.value, "daalu-edge-tunnel-public");
    assert.equal(envOf(job, "EDGE_KEEPALIVE")?.value, envOf(agent.containers[0]!, "EDGE_KEEPALIVE")?.value);
    // Every binding's subjects are this release's accounts in its namespace.
    for (const b of objs.filter((o) => o.kind.endsWith("Binding")) as Binding[]) {
      for (const s of b.subjects) assert.ok(s.kind === "ServiceAccount" && s.namespace === NS && s.name.startsWith(full), `${b.metadata.name}: ${JSON.stringify(s)}`);
    }
  }
});

test("every EDGE_* variable the chart sets is one config.ts reads", { skip }, async () => {
  const config = readFileSync(path.resolve(here, "../src/config.ts"), "utf8");
  const known = new Set([...config.matchAll(/"(EDGE_[A-Z_]+)"/g)].map((m) => m[1]));
  const objs = await render([INSTALL, WITH_CA, WITH_TUN, WITH_TARGETS]);
  let seen = 0;
  for (const kind of ["Deployment", "Job"]) {
    for (const c of podOf(one(objs, kind)).containers) {
      for (const e of c.env ?? []) {
        if (!e.name.startsWith("EDGE_")) continue;
        seen++;
        assert.ok(known.has(e.name), `${kind} sets ${e.name}, which config.ts does not read`);
      }
    }
  }
  assert.ok(seen >= 15, `${seen} EDGE_* variables`);
});

test("every .Values reference exists in values.yaml", () => {
  const values = parse(readFileSync(path.join(CHART, "values.yaml"), "utf8")) as Record<string, unknown>;
  const tpls = readdirSync(path.join(CHART, "templates"));
  assert.ok(tpls.length >= 8);
  for (const file of tpls) {
    const src = readFileSync(path.join(CHART, "templates", file), "utf8");
    for (const m of src.matchAll(/\.Values((?:\.[A-Za-z0-9_]+)+)/g)) {
      let cur: unknown = values;
      for (const part of m[1]!.slice(1).split(".")) {
        assert.ok(cur !== null && typeof cur === "object" && part in (cur as object), `${file}: .Values${m[1]} is not in values.yaml`);
        cur = (cur as Record<string, unknown>)[part];
      }
    }
  }
});
