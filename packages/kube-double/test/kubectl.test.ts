import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { eventually } from "@daalu/testing";
import { EDGE_PROXY_USER, startKubeDouble, type KubeDouble } from "../src/index.js";
import { kubectlFor, rows, type Kubectl } from "./kubectl.js";

// Fixture names (testdata/kube): see pods.json / deployments.json.
const WEB_POD = "web-cgjdfcgjxd-dmfde";
const WORKER_POD = "worker-fgnncblcch-jbcbd";
const PENDING_POD = "api-fnccdcjfkf-adhdm";

describe("kubectl reads against the double", () => {
  let double: KubeDouble;
  let k: Kubectl;
  before(async () => {
    double = await startKubeDouble();
    k = kubectlFor(double);
  });
  after(async () => {
    k.cleanup();
    await double.close();
  });

  test("get pods prints the server-side table of the context namespace", async () => {
    const r = await k.run(["get", "pods"]);
    assert.equal(r.code, 0, r.stderr);
    const t = rows(r.stdout);
    assert.deepEqual(t[0], ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]);
    assert.deepEqual(t.slice(1).map((x) => x.slice(0, 4)), [["nginx", "1/1", "Running", "0"]]);
    assert.match(t[1]![4]!, /^3d2h/);
    assert.ok(double.requestCount({ method: "GET", path: "/api/v1/namespaces/default/pods", verb: "list", user: "kubernetes-admin", status: 200 }) >= 1);
  });

  test("get pods -A shows every namespace, including Pending, CrashLoopBackOff and Error pods", async () => {
    const r = await k.run(["get", "pods", "-A"]);
    assert.equal(r.code, 0, r.stderr);
    const t = rows(r.stdout);
    assert.deepEqual(t[0], ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]);
    const byName = new Map(t.slice(1).map((x) => [x[1], x]));
    assert.equal(t.length - 1, 19);
    assert.deepEqual(byName.get(PENDING_POD)!.slice(0, 5), ["shop", PENDING_POD, "0/1", "Pending", "0"]);
    assert.deepEqual(byName.get(WORKER_POD)!.slice(2, 4), ["0/1", "CrashLoopBackOff"]);
    assert.match(byName.get(WORKER_POD)![4]!, /^7 \(4m\d+s ago\)$/);
    assert.deepEqual(byName.get("db-migrate")!.slice(2, 4), ["0/1", "Error"]);
    assert.deepEqual(byName.get("kube-proxy-fbfhf")!.slice(0, 3), ["kube-system", "kube-proxy-fbfhf", "1/1"]);
  });

  test("get pods -o json returns full objects with apiVersion/kind filled by kubectl", async () => {
    const r = await k.run(["get", "pods", "-n", "shop", "-l", "app=web", "-o", "json"]);
    assert.equal(r.code, 0, r.stderr);
    const list = JSON.parse(r.stdout);
    assert.equal(list.kind, "List");
    assert.equal(list.items.length, 3);
    for (const p of list.items) {
      assert.equal(p.kind, "Pod");
      assert.equal(p.metadata.labels.app, "web");
      assert.equal(p.status.phase, "Running");
      assert.equal(p.spec.containers[0].image, "ghcr.io/acme/shop-web:1.4.2");
    }
  });

  test("get deployment -o yaml returns the object", async () => {
    const r = await k.run(["get", "deployment", "api", "-n", "shop", "-o", "yaml"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^kind: Deployment$/m);
    assert.match(r.stdout, /^ {2}updatedReplicas: 1$/m);
  });

  test("describe pod shows container state, last state and the pod's events", async () => {
    const r = await k.run(["describe", "pod", WORKER_POD, "-n", "shop"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Name:\s+worker-fgnncblcch-jbcbd$/m);
    assert.match(r.stdout, /^Controlled By:\s+ReplicaSet\/worker-fgnncblcch$/m);
    assert.match(r.stdout, /State:\s+Waiting\n\s+Reason:\s+CrashLoopBackOff/);
    assert.match(r.stdout, /Last State:\s+Terminated\n\s+Reason:\s+Error\n\s+Exit Code:\s+1/);
    assert.match(r.stdout, /Restart Count:\s+7/);
    assert.match(r.stdout, /Warning\s+BackOff\s+\S+ \(x152 over 5h59m\)\s+kubelet\s+Back-off restarting failed container worker/);
    assert.ok(double.requestCount((q) => q.resource === "events" && (q.query["fieldSelector"] ?? "").includes(`involvedObject.name=${WORKER_POD}`)) >= 1);
  });

  test("get and describe services", async () => {
    const r = await k.run(["get", "services", "-n", "shop"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(rows(r.stdout).map((x) => x.slice(0, 5)), [
      ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)"],
      ["api", "ClusterIP", "10.96.88.203", "<none>", "8080/TCP"],
      ["postgres", "ClusterIP", "None", "<none>", "5432/TCP"],
      ["web", "LoadBalancer", "10.96.142.17", "203.0.113.10", "80:31380/TCP"],
    ]);
    const d = await k.run(["describe", "service", "web", "-n", "shop"]);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /^LoadBalancer Ingress:\s+203\.0\.113\.10/m);
    assert.match(d.stdout, /^Endpoints:\s+10\.244\.1\.13:8080,10\.244\.2\.14:8080,10\.244\.1\.15:8080$/m);
  });

  test("get and describe deployments: one rolled out, one mid-rollout", async () => {
    const r = await k.run(["get", "deployments", "-n", "shop", "-o", "wide"]);
    assert.equal(r.code, 0, r.stderr);
    const t = rows(r.stdout);
    assert.deepEqual(t[0], ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]);
    assert.deepEqual(t.find((x) => x[0] === "web")!.slice(1, 4), ["3/3", "3", "3"]);
    assert.deepEqual(t.find((x) => x[0] === "api")!.slice(1, 4), ["2/2", "1", "2"]);
    assert.equal(t.find((x) => x[0] === "api")![6], "ghcr.io/acme/shop-api:2.8.0");
    const d = await k.run(["describe", "deployment", "api", "-n", "shop"]);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /^Replicas:\s+2 desired \| 1 updated \| 3 total \| 2 available \| 1 unavailable$/m);
    assert.match(d.stdout, /^OldReplicaSets:\s+api-hddlblmdmg \(2\/2 replicas created\)$/m);
    assert.match(d.stdout, /^NewReplicaSet:\s+api-fnccdcjfkf \(1\/1 replicas created\)$/m);
    assert.match(d.stdout, /Normal\s+ScalingReplicaSet\s+\S+\s+deployment-controller\s+Scaled up replica set api-fnccdcjfkf from 0 to 1/);
  });

  test("get and describe statefulsets and daemonsets", async () => {
    const s = await k.run(["get", "statefulsets", "-n", "shop"]);
    assert.equal(s.code, 0, s.stderr);
    assert.deepEqual(rows(s.stdout).map((x) => x.slice(0, 2)), [["NAME", "READY"], ["postgres", "2/2"]]);
    const sd = await k.run(["describe", "statefulset", "postgres", "-n", "shop"]);
    assert.match(sd.stdout, /^Pods Status:\s+2 Running \/ 0 Waiting \/ 0 Succeeded \/ 0 Failed$/m);
    const ds = await k.run(["get", "daemonsets", "-n", "kube-system"]);
    assert.equal(ds.code, 0, ds.stderr);
    assert.deepEqual(rows(ds.stdout).map((x) => x.slice(0, 7)), [
      ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR"],
      ["kube-proxy", "3", "3", "3", "3", "3", "kubernetes.io/os=linux"],
    ]);
    const dd = await k.run(["describe", "daemonset", "kube-proxy", "-n", "kube-system"]);
    assert.match(dd.stdout, /^Desired Number of Nodes Scheduled: 3$/m);
    assert.match(dd.stdout, /^Pods Status:\s+3 Running \/ 0 Waiting \/ 0 Succeeded \/ 0 Failed$/m);
  });

  test("get events and nodes; describe node lists its pods", async () => {
    const e = await k.run(["get", "events", "-n", "shop"]);
    assert.equal(e.code, 0, e.stderr);
    const et = rows(e.stdout);
    assert.deepEqual(et[0], ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]);
    assert.deepEqual(et.find((x) => x[2] === "FailedScheduling")!.slice(1, 4), ["Warning", "FailedScheduling", `pod/${PENDING_POD}`]);
    const n = await k.run(["get", "nodes"]);
    assert.equal(n.code, 0, n.stderr);
    assert.deepEqual(rows(n.stdout).map((x) => [x[0], x[1], x[2], x[4]]), [
      ["NAME", "STATUS", "ROLES", "VERSION"],
      ["cp-1", "Ready", "control-plane", "v1.32.4"],
      ["worker-1", "Ready", "<none>", "v1.32.4"],
      ["worker-2", "Ready", "<none>", "v1.32.4"],
    ]);
    const d = await k.run(["describe", "node", "worker-2"]);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /^Non-terminated Pods:\s+\(\d+ in total\)$/m);
    assert.match(d.stdout, /shop\s+postgres-1\s+500m \(12%\)/);
    assert.doesNotMatch(d.stdout, /db-migrate/, "Failed pods are not listed as non-terminated");
    assert.match(d.stdout, /HolderIdentity:\s+worker-2/);
  });

  test("logs --tail and --timestamps", async () => {
    const r = await k.run(["logs", WEB_POD, "-n", "shop", "--tail=2"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trimEnd().split("\n"), ['{"level":"info","msg":"GET /cart 200","ms":8}', '{"level":"warn","msg":"slow upstream","upstream":"api","ms":950}']);
    const t = await k.run(["logs", "db-migrate", "-n", "shop", "--timestamps"]);
    assert.match(t.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z error: relation "orders" does not exist$/m);
    assert.ok(double.requestCount({ path: `/api/v1/namespaces/shop/pods/${WEB_POD}/log`, subresource: "log", status: 200 }) >= 1);
  });

  test("NotFound prints the server's message", async () => {
    const r = await k.run(["get", "pod", "nope", "-n", "shop"]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(), 'Error from server (NotFound): pods "nope" not found');
    const d = await k.run(["describe", "deployment", "nope", "-n", "shop"]);
    assert.match(d.stderr, /Error from server \(NotFound\): deployments\.apps "nope" not found/);
  });

  test("Forbidden prints the RBAC message verbatim", async () => {
    const r = await k.run(["get", "secrets", "-n", "kube-system"], "edge-proxy-token");
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(), `Error from server (Forbidden): secrets is forbidden: User "${EDGE_PROXY_USER}" cannot list resource "secrets" in API group "" in the namespace "kube-system"`);
    const ok = await k.run(["get", "pods", "-n", "kube-system"], "edge-proxy-token");
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(rows(ok.stdout).length, 6);
  });

  test("an unknown token gets 401 Unauthorized", async () => {
    const r = await k.run(["get", "pods"], "wrong-token");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /error: You must be logged in to the server \(Unauthorized\)/);
  });
});

describe("kubectl streams against the double", () => {
  test("logs -f sees lines appended through the test API", async (t) => {
    const double = await startKubeDouble();
    const k = kubectlFor(double);
    t.after(async () => {
      k.cleanup();
      await double.close();
    });
    const p = k.start(["logs", "-f", WEB_POD, "-n", "shop", "--tail=1"]);
    await eventually(() => assert.match(p.out(), /slow upstream/));
    double.appendLog("shop", WEB_POD, "web", ["first live line", "second live line"]);
    await eventually(() => assert.match(p.out(), /first live line\nsecond live line\n$/));
    assert.equal(p.out().split("\n").length, 4, "tail=1 plus two live lines");
    double.endLogs("shop", WEB_POD);
    assert.equal(await p.exited, 0);
  });

  test("get pods -w prints a row for a change made through the test API", async (t) => {
    const double = await startKubeDouble();
    const k = kubectlFor(double);
    const p = k.start(["get", "pods", "-n", "shop", "-w"]);
    t.after(async () => {
      await p.stop();
      k.cleanup();
      await double.close();
    });
    await eventually(() => assert.match(p.out(), new RegExp(`^${PENDING_POD}\\s+0/1\\s+Pending`, "m")));
    await eventually(() => assert.ok(double.requestCount({ resource: "pods", verb: "watch", namespace: "shop" }) >= 1, "a pods watch open"));
    double.store.update("Pod", "shop", PENDING_POD, (pod) => {
      pod["spec"]["nodeName"] = "worker-2";
      pod["status"]["phase"] = "Running";
      pod["status"]["containerStatuses"] = [{ name: "api", ready: true, restartCount: 0, started: true, image: "ghcr.io/acme/shop-api:2.8.0", imageID: "", state: { running: { startedAt: new Date().toISOString() } } }];
    });
    await eventually(() => assert.match(p.out(), new RegExp(`^${PENDING_POD}\\s+1/1\\s+Running\\s+0`, "m")));
    double.store.delete("Pod", "shop", "db-migrate");
    // kubectl prints the last state of a deleted object as a row too.
    await eventually(() => assert.equal(p.out().match(/^db-migrate\s/gm)?.length, 2));
  });

  test("rollout status waits until the test completes the rollout", async (t) => {
    const double = await startKubeDouble();
    const k = kubectlFor(double);
    const p = k.start(["rollout", "status", "deployment/api", "-n", "shop", "--timeout=60s"]);
    t.after(async () => {
      await p.stop();
      k.cleanup();
      await double.close();
    });
    await eventually(() => assert.match(p.out(), /Waiting for deployment "api" rollout to finish: 1 out of 2 new replicas have been updated\.\.\./));
    await eventually(() => assert.ok(double.requestCount({ resource: "deployments", verb: "watch" }) >= 1, "a deployments watch open"));
    double.store.update("Deployment", "shop", "api", (d) => {
      d["status"] = { ...d["status"], replicas: 3, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2, unavailableReplicas: 1 };
    });
    await eventually(() => assert.match(p.out(), /Waiting for deployment "api" rollout to finish: 1 old replicas are pending termination\.\.\./));
    double.store.update("Deployment", "shop", "api", (d) => {
      d["status"] = { ...d["status"], replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 };
      delete d["status"]["unavailableReplicas"];
    });
    assert.equal(await p.exited, 0, p.err());
    assert.match(p.out(), /deployment "api" successfully rolled out\n$/);
  });
});
