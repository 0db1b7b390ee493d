/**
 * Drift detection on objects the real `kubectl` wrote to the API-server double (create, a merge patch as an HPA or a
 * person would make, delete), read back through the real tunnel-proxy and the edge's Proxy (loopback gRPC, no
 * WireGuard) with the edge's default read-only RBAC. The comparison rules themselves are pinned by
 * compare-fixtures.test.ts; this shows they hold on what kubectl and the API server actually store.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { CallerKind, driftv1 } from "@daalu/proto";
import { createLogger } from "@daalu/runtime";
import { setup, type TestEnv } from "@daalu/testing";
import { startTunnelStack, type TunnelStack } from "../../tunnel-proxy/test/harness.js";
import { driftClient, type DriftClient } from "../src/index.js";
import { loadConfig } from "../src/config.js";
import { start, type RunningDrift } from "../src/service.js";

const NS = "drift-kubectl";
// What the customer's cluster holds, written by kubectl: quantities and ports spelled one way...
const LIVE = `apiVersion: v1
kind: Namespace
metadata:
  name: ${NS}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ${NS}
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: sidecar
          image: envoy:1.30
        - name: app
          image: nginx:1.25
          ports: [{containerPort: 80}]
          resources:
            requests: {cpu: 1000m, memory: 1024Mi}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: ${NS}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
`;
// ...and the desired state the tenant registered: the same objects spelled another way (containers reordered).
const DESIRED = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ${NS}
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: app
          image: nginx:1.25
          resources:
            requests: {cpu: "1", memory: 1Gi}
        - name: sidecar
          image: envoy:1.30
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: ${NS}
spec:
  ports: [{port: 80, targetPort: "80"}]
`;

describe("drift on objects written with the real kubectl", () => {
  let env: TestEnv;
  let stack: TunnelStack;
  let svc: RunningDrift;
  let client: DriftClient;
  let cluster: string;
  let dir: string;
  const admin = { tenantId: "acme", caller: { kind: CallerKind.USER, id: "alice" } };

  const kubectl = (...args: string[]) =>
    new Promise<string>((resolve, reject) =>
      execFile("kubectl", ["--kubeconfig", path.join(dir, "admin.kubeconfig"), "--cache-dir", path.join(dir, "cache"), ...args], (err, out, stderr) => (err ? reject(new Error(`kubectl ${args.join(" ")}: ${stderr}`)) : resolve(out))),
    );
  const check = async () => {
    const report = (await client.checkNow({ clusterId: cluster }, admin)).report!;
    return { report, states: report.objects.map((o) => `${o.kind}/${o.name}=${driftv1.ObjectDriftState[o.state]}`) };
  };

  before(async () => {
    env = await setup();
    stack = await startTunnelStack(env, [{ tenant: "acme", name: "prod" }]);
    cluster = stack.clusterIds[0]!;
    dir = mkdtempSync(path.join(tmpdir(), "drift-kubectl-"));
    writeFileSync(path.join(dir, "admin.kubeconfig"), stack.kube.kubeconfig({ token: "admin-token" }), { mode: 0o600 });
    writeFileSync(path.join(dir, "live.yaml"), LIVE);
    await kubectl("create", "-f", path.join(dir, "live.yaml"));
    svc = await start(loadConfig({ ...env.env, DRIFT_GRPC_ADDR: "off", DRIFT_SCHEDULE_TICK: "0" }), createLogger("drift", "silent"));
    client = driftClient(env.nc, { prefix: env.prefix });
    await client.putDesiredState({ clusterId: cluster, yaml: DESIRED }, admin);
    await client.setReconciliation({ clusterId: cluster, enabled: true, intervalSeconds: 300 }, admin);
  });
  after(async () => {
    await svc?.stop();
    await stack?.stop();
    await env?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("what kubectl created is in sync: 1000m = 1, 1024Mi = 1Gi, targetPort 80 = \"80\", containers by name, added labels ignored", async () => {
    const { report, states } = await check();
    assert.deepEqual(states, ["Deployment/web=IN_SYNC", "Service/web=IN_SYNC"]);
    assert.equal(report.drifted, false);
  });

  it("replicas changed with kubectl patch (as an HPA does) is drift; with /spec/replicas ignored it is not", async () => {
    await kubectl("patch", "-n", NS, "deployment/web", "--type=merge", "-p", '{"spec":{"replicas":5}}');
    const { report, states } = await check();
    assert.deepEqual(states, ["Deployment/web=MODIFIED", "Service/web=IN_SYNC"]);
    assert.deepEqual(JSON.parse(report.objects[0]!.patch), [{ op: "replace", path: "/spec/replicas", value: 2 }]);
    assert.equal(report.drifted, true);

    await client.setReconciliation({ clusterId: cluster, enabled: true, intervalSeconds: 300, ignore: [{ kind: "Deployment", name: "web", namespace: NS, pointers: ["/spec/replicas"] }] }, admin);
    const ignored = await check();
    assert.deepEqual(ignored.states, ["Deployment/web=IN_SYNC", "Service/web=IN_SYNC"]);
    assert.equal(ignored.report.drifted, false, "back in sync closes the episode");
  });

  it("an image changed with kubectl is modified at the container's live index; a Service deleted with kubectl is missing", async () => {
    await kubectl("patch", "-n", NS, "deployment/web", "--type=json", "-p", '[{"op":"replace","path":"/spec/template/spec/containers/1/image","value":"nginx:1.26"}]');
    await kubectl("delete", "-n", NS, "service/web");
    const { report, states } = await check();
    assert.deepEqual(states, ["Deployment/web=MODIFIED", "Service/web=MISSING"]);
    assert.deepEqual(JSON.parse(report.objects[0]!.patch), [{ op: "replace", path: "/spec/template/spec/containers/1/image", value: "nginx:1.25" }]);
    assert.deepEqual([report.summary?.modified, report.summary?.missing], [1, 1]);
  });
});
