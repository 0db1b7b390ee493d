import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { isUnhealthy, logLines, nodeView, podView, rolloutView, selectorString, sortRollouts, workloadRollout, type DeploymentObject, type NodeObject, type PodObject } from "./queries.js";

const load = <T>(f: string): T[] => (JSON.parse(readFileSync(new URL(`../../../../testdata/kube/${f}`, import.meta.url), "utf8")) as { items: T[] }).items;
const pods = load<PodObject>("pods.json");
const pod = (name: string) => pods.find((p) => p.metadata?.name === name)!;

test("pod STATUS as kubectl prints it", () => {
  assert.deepEqual(podView(pod("nginx")), { status: "Running", ready: "1/1", restarts: 0, message: "" });
  assert.equal(podView(pod("worker-fgnncblcch-jbcbd")).status, "CrashLoopBackOff");
  assert.match(podView(pod("worker-fgnncblcch-jbcbd")).message, /back-off/);
  assert.equal(podView(pod("db-migrate")).status, "Error");
  assert.equal(podView(pod("api-fnccdcjfkf-adhdm")).status, "Pending");
  const terminating: PodObject = { ...pod("nginx"), metadata: { ...pod("nginx").metadata, deletionTimestamp: "2025-06-01T00:00:00Z" } };
  assert.equal(podView(terminating).status, "Terminating");
  const init: PodObject = { spec: { containers: [{ name: "a" }], initContainers: [{ name: "i" }] }, status: { phase: "Pending", initContainerStatuses: [{ name: "i", state: { waiting: { reason: "PodInitializing" } } }] } };
  assert.equal(podView(init).status, "Init:0/1");
});

test("unhealthy means not Running; Completed only when asked", () => {
  const bad = pods.filter((p) => isUnhealthy(podView(p), p.status?.phase ?? "", false)).map((p) => p.metadata!.name).sort();
  assert.deepEqual(bad, ["api-fnccdcjfkf-adhdm", "db-migrate", "worker-fgnncblcch-jbcbd"]);
  const done = { status: "Completed", ready: "0/1", restarts: 0, message: "" };
  assert.equal(isUnhealthy(done, "Succeeded", false), false);
  assert.equal(isUnhealthy(done, "Succeeded", true), true);
});

test("rollout status follows kubectl's viewer", () => {
  const deps = load<DeploymentObject>("deployments.json");
  const d = (n: string) => deps.find((x) => x.metadata?.name === n)!;
  assert.equal(rolloutView(d("web")).message, 'deployment "web" successfully rolled out');
  assert.equal(rolloutView(d("web")).state, "done");
  const api = rolloutView(d("api"));
  assert.equal(api.state, "progressing");
  assert.equal(api.message, 'Waiting for deployment "api" rollout to finish: 1 out of 2 new replicas have been updated...');
  assert.deepEqual([api.desired, api.updated, api.ready, api.available, api.current], [2, 1, 2, 2, 3]);
  assert.equal(rolloutView({ ...d("web"), metadata: { name: "web", generation: 3 } }).message, "Waiting for deployment spec update to be observed...");
  assert.equal(rolloutView({ ...d("web"), status: { ...d("web").status, conditions: [{ type: "Progressing", reason: "ProgressDeadlineExceeded" }] } }).state, "failed");
});

test("nodes: status and roles", () => {
  const nodes = load<NodeObject>("nodes.json").map(nodeView);
  assert.deepEqual(nodes.find((n) => n.name === "cp-1")!.roles, ["control-plane"]);
  assert.equal(nodeView({ metadata: { name: "x" }, spec: { unschedulable: true }, status: { conditions: [{ type: "Ready", status: "False" }] } }).status, "NotReady,SchedulingDisabled");
  assert.equal(nodeView({ metadata: { name: "x" } }).status, "Unknown");
});

test("selectors and log tails", () => {
  assert.equal(selectorString({ matchLabels: { tier: "fe", app: "web" }, matchExpressions: [{ key: "env", operator: "In", values: ["b", "a"] }, { key: "canary", operator: "DoesNotExist" }] }), "app=web,!canary,env in (a,b),tier=fe");
  assert.deepEqual(logLines("a\nb\nc\n", 2), ["b", "c"]);
  assert.deepEqual(logLines("", 2), []);
});

test("rollouts of statefulsets and daemonsets follow kubectl's viewers; failed and rolling first", () => {
  const sts = (status: object, spec: object = {}) => workloadRollout("StatefulSet", { metadata: { name: "db", namespace: "shop", generation: 2 }, spec: { replicas: 3, updateStrategy: { type: "RollingUpdate" }, ...spec }, status: { observedGeneration: 2, ...status } });
  assert.equal(sts({ readyReplicas: 1 }).message, "Waiting for 2 pods to be ready...");
  assert.equal(sts({ readyReplicas: 3, updatedReplicas: 1, currentRevision: "db-1", updateRevision: "db-2" }).state, "progressing");
  const done = sts({ readyReplicas: 3, updatedReplicas: 3, currentReplicas: 3, currentRevision: "db-2", updateRevision: "db-2" });
  assert.deepEqual([done.state, done.message, done.desired, done.ready], ["done", "statefulset rolling update complete 3 pods at revision db-2...", 3, 3]);
  assert.equal(sts({ readyReplicas: 3, updatedReplicas: 1 }, { updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 1 } } }).message, "Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated...");

  const ds = (status: object) => workloadRollout("DaemonSet", { metadata: { name: "agent", namespace: "kube-system", generation: 1 }, spec: { updateStrategy: { type: "RollingUpdate" } }, status: { observedGeneration: 1, desiredNumberScheduled: 4, ...status } });
  assert.equal(ds({ updatedNumberScheduled: 2 }).message, 'Waiting for daemon set "agent" rollout to finish: 2 out of 4 new pods have been updated...');
  assert.equal(ds({ updatedNumberScheduled: 4, numberAvailable: 3 }).message, 'Waiting for daemon set "agent" rollout to finish: 3 of 4 updated pods are available...');
  const dsDone = ds({ updatedNumberScheduled: 4, numberAvailable: 4, numberReady: 4 });
  assert.deepEqual([dsDone.state, dsDone.desired, dsDone.available], ["done", 4, 4]);

  const failed = workloadRollout("Deployment", {
    metadata: { name: "api", namespace: "shop", generation: 1, creationTimestamp: "2026-01-01T00:00:00Z" },
    spec: { replicas: 1 },
    status: { observedGeneration: 1, conditions: [{ type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded", message: 'ReplicaSet "api-1" has timed out progressing.', lastUpdateTime: "2026-01-02T00:00:00Z" }] },
  } as never);
  assert.deepEqual([failed.state, failed.conditionMessage, new Date(failed.changedAt).toISOString()], ["failed", 'ReplicaSet "api-1" has timed out progressing.', "2026-01-02T00:00:00.000Z"]);
  assert.deepEqual(sortRollouts([dsDone, done, failed, ds({ updatedNumberScheduled: 1 })]).map((r) => `${r.kind}:${r.state}`), ["Deployment:failed", "DaemonSet:progressing", "DaemonSet:done", "StatefulSet:done"]);
});
