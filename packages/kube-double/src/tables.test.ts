import { test } from "node:test";
import assert from "node:assert/strict";
import { humanDuration, toTable } from "./tables.js";

test("humanDuration matches apimachinery's HumanDuration boundaries", () => {
  const s = 1000, m = 60 * s, h = 60 * m, d = 24 * h;
  const cases: [number, string][] = [[-5 * s, "<invalid>"], [-500, "0s"], [119 * s, "119s"], [2 * m, "2m"], [9 * m + 5 * s, "9m5s"], [179 * m, "179m"], [3 * h + 7 * m, "3h7m"], [8 * h, "8h"], [47 * h, "47h"], [2 * d + 3 * h, "2d3h"], [12 * d, "12d"], [800 * d, "2y70d"], [9 * 365 * d, "9y"]];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, `${ms}ms`);
});

const now = Date.parse("2025-06-01T12:00:00Z");
const cell = (t: any, i: number) => t.rows[0].cells[i];

test("pod STATUS follows the kubelet's container states", () => {
  const pod = (status: object, extra: object = {}) => ({ metadata: { name: "p", namespace: "ns", creationTimestamp: "2025-06-01T11:00:00Z", ...extra }, spec: { containers: [{ name: "a" }, { name: "b" }] }, status });
  const running = { state: { running: {} }, ready: true, restartCount: 0 };
  assert.equal(cell(toTable("Pod", [pod({ phase: "Running", containerStatuses: [running, running] })], { resourceVersion: "1", now }), 2), "Running");
  assert.equal(cell(toTable("Pod", [pod({ phase: "Running", containerStatuses: [running, { state: { waiting: { reason: "CrashLoopBackOff" } }, restartCount: 3, lastState: { terminated: { finishedAt: "2025-06-01T11:58:00Z" } } }] })], { resourceVersion: "1", now }), 2), "CrashLoopBackOff");
  const t = toTable("Pod", [pod({ phase: "Running", containerStatuses: [running, { state: { waiting: { reason: "CrashLoopBackOff" } }, restartCount: 3, lastState: { terminated: { finishedAt: "2025-06-01T11:58:00Z" } } }] })], { resourceVersion: "1", now }) as any;
  assert.deepEqual(t.rows[0].cells.slice(1, 5), ["1/2", "CrashLoopBackOff", "3 (2m ago)", "60m"]);
  assert.equal(cell(toTable("Pod", [pod({ phase: "Failed", containerStatuses: [{ state: { terminated: { exitCode: 137, signal: 9 } } }] })], { resourceVersion: "1", now }), 2), "Signal:9");
  assert.equal(cell(toTable("Pod", [pod({ phase: "Running", containerStatuses: [running, running] }, { deletionTimestamp: "2025-06-01T11:59:00Z" })], { resourceVersion: "1", now }), 2), "Terminating");
  const failed = toTable("Pod", [pod({ phase: "Failed" })], { resourceVersion: "1", now }) as any;
  assert.deepEqual(failed.rows[0].conditions, [{ type: "Completed", status: "True" }]);
  assert.deepEqual(failed.rows[0].object, { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: pod({}).metadata });
});

test("service, node and event cells", () => {
  const svc = { metadata: { name: "s", creationTimestamp: "2025-06-01T11:00:00Z" }, spec: { type: "LoadBalancer", clusterIP: "10.0.0.1", ports: [{ port: 80, nodePort: 30080, protocol: "TCP" }, { port: 53, protocol: "UDP" }], selector: { b: "2", a: "1" } }, status: { loadBalancer: {} } };
  assert.deepEqual((toTable("Service", [svc], { resourceVersion: "1", now }) as any).rows[0].cells, ["s", "LoadBalancer", "10.0.0.1", "<pending>", "80:30080/TCP,53/UDP", "60m", "a=1,b=2"]);
  const node = { metadata: { name: "n", creationTimestamp: "2025-06-01T11:00:00Z", labels: { "node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "edge" } }, spec: { unschedulable: true }, status: { conditions: [{ type: "Ready", status: "False" }], nodeInfo: { kubeletVersion: "v1.32.4" } } };
  assert.deepEqual((toTable("Node", [node], { resourceVersion: "1", now }) as any).rows[0].cells.slice(0, 5), ["n", "NotReady,SchedulingDisabled", "control-plane,edge", "60m", "v1.32.4"]);
  const ev = { metadata: { name: "e1" }, involvedObject: { kind: "Pod", name: "p" }, type: "Warning", reason: "BackOff", message: " x ", firstTimestamp: "2025-06-01T10:00:00Z", lastTimestamp: "2025-06-01T11:59:00Z", count: 4, source: { component: "kubelet", host: "n1" } };
  assert.deepEqual((toTable("Event", [ev], { resourceVersion: "1", now }) as any).rows[0].cells, ["60s", "Warning", "BackOff", "pod/p", "", "kubelet, n1", "x", "120m", 4, "e1"]);
});
