/**
 * The typed cluster queries (proto daalu.query.v1) computed from Kubernetes
 * objects. Pure: plain JSON objects in, plain results out. The rules follow
 * kubectl's own printers (pod STATUS, node STATUS/ROLES) and its rollout
 * status viewer, so an answer here reads the same as kubectl's; pinned by
 * queries.test.ts and, against kubectl itself, by
 * services/gateway/test/queries.test.ts.
 */

/* Minimal shapes of the Kubernetes objects read here (everything optional: API objects are partial). */
interface ContainerState {
  waiting?: { reason?: string; message?: string };
  running?: { startedAt?: string };
  terminated?: { reason?: string; message?: string; exitCode?: number; signal?: number };
}
interface ContainerStatus {
  name?: string;
  ready?: boolean;
  started?: boolean;
  restartCount?: number;
  state?: ContainerState;
}
interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}
export interface PodObject {
  metadata?: { name?: string; namespace?: string; creationTimestamp?: string; deletionTimestamp?: string; annotations?: Record<string, string> };
  spec?: { nodeName?: string; containers?: { name?: string }[]; initContainers?: { name?: string; restartPolicy?: string }[] };
  status?: { phase?: string; reason?: string; message?: string; conditions?: Condition[]; containerStatuses?: ContainerStatus[]; initContainerStatuses?: ContainerStatus[] };
}
export interface DeploymentObject {
  metadata?: { name?: string; generation?: number };
  spec?: { replicas?: number; selector?: LabelSelector };
  status?: { observedGeneration?: number; replicas?: number; updatedReplicas?: number; readyReplicas?: number; availableReplicas?: number; conditions?: Condition[] };
}
export interface NodeObject {
  metadata?: { name?: string; labels?: Record<string, string>; creationTimestamp?: string };
  spec?: { unschedulable?: boolean };
  status?: { conditions?: Condition[]; nodeInfo?: { kubeletVersion?: string }; addresses?: { type?: string; address?: string }[] };
}
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** A pod as kubectl's STATUS / READY / RESTARTS columns show it. */
export interface PodView {
  status: string;
  ready: string;
  restarts: number;
  /** The first explanatory message: container waiting/terminated, then pod conditions, then the pod's own. */
  message: string;
}

/** kubectl's pod printer (pkg/printers/internalversion printPod), minus the columns we do not return. */
export function podView(pod: PodObject): PodView {
  const st = pod.status ?? {};
  const initSpecs = pod.spec?.initContainers ?? [];
  let reason = st.reason || st.phase || "";
  if ((st.conditions ?? []).some((c) => c.type === "PodScheduled" && c.reason === "SchedulingGated")) reason = "SchedulingGated";
  let restarts = 0;
  let sidecarRestarts = 0;
  let ready = 0;
  let total = (pod.spec?.containers ?? []).length;
  let initializing = false;
  const inits = st.initContainerStatuses ?? [];
  for (let i = 0; i < inits.length; i++) {
    const c = inits[i]!;
    const sidecar = initSpecs.find((s) => s.name === c.name)?.restartPolicy === "Always";
    restarts += c.restartCount ?? 0;
    if (sidecar) {
      total++;
      sidecarRestarts += c.restartCount ?? 0;
    }
    const t = c.state?.terminated;
    const w = c.state?.waiting;
    if (t && (t.exitCode ?? 0) === 0 && !t.signal) continue;
    if (sidecar && c.started) {
      if (c.ready) ready++;
      continue;
    }
    if (t) reason = t.reason ? `Init:${t.reason}` : t.signal ? `Init:Signal:${t.signal}` : `Init:ExitCode:${t.exitCode ?? 0}`;
    else if (w?.reason && w.reason !== "PodInitializing") reason = `Init:${w.reason}`;
    else reason = `Init:${i}/${initSpecs.length}`;
    initializing = true;
    break;
  }
  const initialized = (st.conditions ?? []).some((c) => c.type === "Initialized" && c.status === "True");
  if (!initializing || initialized) {
    restarts = sidecarRestarts;
    let hasRunning = false;
    const cs = st.containerStatuses ?? [];
    for (let i = cs.length - 1; i >= 0; i--) {
      const c = cs[i]!;
      restarts += c.restartCount ?? 0;
      const w = c.state?.waiting;
      const t = c.state?.terminated;
      if (w?.reason) reason = w.reason;
      else if (t?.reason) reason = t.reason;
      else if (t) reason = t.signal ? `Signal:${t.signal}` : `ExitCode:${t.exitCode ?? 0}`;
      else if (c.ready && c.state?.running) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === "Completed" && hasRunning) reason = (st.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True") ? "Running" : "NotReady";
  }
  const phase = st.phase ?? "";
  if (pod.metadata?.deletionTimestamp && st.reason === "NodeLost") reason = "Unknown";
  else if (pod.metadata?.deletionTimestamp && phase !== "Succeeded" && phase !== "Failed") reason = "Terminating";
  return { status: reason, ready: `${ready}/${total}`, restarts, message: podMessage(pod) };
}

function podMessage(pod: PodObject): string {
  const st = pod.status ?? {};
  for (const c of [...(st.initContainerStatuses ?? []), ...(st.containerStatuses ?? [])]) {
    const m = c.state?.waiting?.message || c.state?.terminated?.message;
    if (m) return m;
  }
  for (const c of st.conditions ?? []) if (c.status !== "True" && c.message) return c.message;
  return st.message ?? "";
}

/** "Not Running" as kubectl shows it; Completed pods count only when asked for. */
export function isUnhealthy(view: PodView, phase: string, includeCompleted: boolean): boolean {
  if (view.status === "Running") return false;
  if (phase === "Succeeded" && view.status === "Completed") return includeCompleted;
  return true;
}

/** A label selector as client-go writes it (LabelSelectorAsSelector: requirements sorted by key). */
export function selectorString(sel: LabelSelector | undefined): string {
  const terms: { key: string; text: string }[] = [];
  for (const [k, v] of Object.entries(sel?.matchLabels ?? {})) terms.push({ key: k, text: `${k}=${v}` });
  for (const e of sel?.matchExpressions ?? []) {
    const vals = [...(e.values ?? [])].sort().join(",");
    switch (e.operator) {
      case "In":
        terms.push({ key: e.key, text: `${e.key} in (${vals})` });
        break;
      case "NotIn":
        terms.push({ key: e.key, text: `${e.key} notin (${vals})` });
        break;
      case "Exists":
        terms.push({ key: e.key, text: e.key });
        break;
      case "DoesNotExist":
        terms.push({ key: e.key, text: `!${e.key}` });
        break;
      default:
        throw new Error(`unknown label selector operator "${e.operator}"`);
    }
  }
  return terms
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((t) => t.text)
    .join(",");
}

/** The container whose log a pod's "kubectl logs" shows by default. */
export function defaultContainer(pod: PodObject): string {
  const annotated = pod.metadata?.annotations?.["kubectl.kubernetes.io/default-container"];
  const names = (pod.spec?.containers ?? []).map((c) => c.name ?? "");
  if (annotated && names.includes(annotated)) return annotated;
  return names[0] ?? "";
}

export type RolloutStateName = "done" | "progressing" | "failed";

export interface RolloutView {
  desired: number;
  updated: number;
  ready: number;
  available: number;
  current: number;
  state: RolloutStateName;
  /** kubectl's line without the trailing newline. */
  message: string;
  generation: number;
  observedGeneration: number;
}

/** kubectl's DeploymentStatusViewer.Status (polymorphichelpers/rollout_status.go). */
export function rolloutView(d: DeploymentObject): RolloutView {
  const name = d.metadata?.name ?? "";
  const s = d.status ?? {};
  const desired = d.spec?.replicas ?? 1;
  const v = {
    desired,
    updated: s.updatedReplicas ?? 0,
    ready: s.readyReplicas ?? 0,
    available: s.availableReplicas ?? 0,
    current: s.replicas ?? 0,
    generation: d.metadata?.generation ?? 0,
    observedGeneration: s.observedGeneration ?? 0,
  };
  const q = JSON.stringify(name);
  if (v.generation > v.observedGeneration) return { ...v, state: "progressing", message: "Waiting for deployment spec update to be observed..." };
  const progressing = (s.conditions ?? []).find((c) => c.type === "Progressing");
  if (progressing?.reason === "ProgressDeadlineExceeded") return { ...v, state: "failed", message: `deployment ${q} exceeded its progress deadline` };
  if (d.spec?.replicas !== undefined && v.updated < desired) return { ...v, state: "progressing", message: `Waiting for deployment ${q} rollout to finish: ${v.updated} out of ${desired} new replicas have been updated...` };
  if (v.current > v.updated) return { ...v, state: "progressing", message: `Waiting for deployment ${q} rollout to finish: ${v.current - v.updated} old replicas are pending termination...` };
  if (v.available < v.updated) return { ...v, state: "progressing", message: `Waiting for deployment ${q} rollout to finish: ${v.available} of ${v.updated} updated replicas are available...` };
  return { ...v, state: "done", message: `deployment ${q} successfully rolled out` };
}

export interface NodeView {
  name: string;
  ready: boolean;
  status: string;
  roles: string[];
  version: string;
  internalIp: string;
}

/** kubectl's node printer: STATUS from the Ready condition (+SchedulingDisabled), ROLES from labels. */
export function nodeView(n: NodeObject): NodeView {
  const cond = (n.status?.conditions ?? []).find((c) => c.type === "Ready");
  const status: string[] = [];
  if (cond) status.push(cond.status === "True" ? "Ready" : "NotReady");
  else status.push("Unknown");
  if (n.spec?.unschedulable) status.push("SchedulingDisabled");
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(n.metadata?.labels ?? {})) {
    if (k.startsWith("node-role.kubernetes.io/")) {
      const r = k.slice("node-role.kubernetes.io/".length);
      if (r) roles.add(r);
    } else if (k === "kubernetes.io/role" && v) roles.add(v);
  }
  return {
    name: n.metadata?.name ?? "",
    ready: cond?.status === "True",
    status: status.join(","),
    roles: [...roles].sort(),
    version: n.status?.nodeInfo?.kubeletVersion ?? "",
    internalIp: (n.status?.addresses ?? []).find((a) => a.type === "InternalIP")?.address ?? "",
  };
}

/** The last `n` lines of a log body (a trailing newline does not make an empty line). */
export function logLines(text: string, n: number): string[] {
  if (text === "") return [];
  const lines = text.endsWith("\n") ? text.slice(0, -1).split("\n") : text.split("\n");
  return n > 0 && lines.length > n ? lines.slice(lines.length - n) : lines;
}

/** DNS-1123 label (namespaces) or subdomain (object names): what the API server accepts in a path. */
export function isDnsLabel(s: string): boolean {
  return /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(s);
}
export function isDnsSubdomain(s: string): boolean {
  return s.length <= 253 && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(s);
}

/* Workloads for ListRollouts: a Deployment, StatefulSet or DaemonSet as the API lists it. */
interface TimedCondition extends Condition {
  lastTransitionTime?: string;
  lastUpdateTime?: string;
}
export interface WorkloadObject {
  metadata?: { name?: string; namespace?: string; generation?: number; creationTimestamp?: string };
  spec?: { replicas?: number; updateStrategy?: { type?: string; rollingUpdate?: { partition?: number } } };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    currentReplicas?: number;
    currentRevision?: string;
    updateRevision?: string;
    desiredNumberScheduled?: number;
    updatedNumberScheduled?: number;
    numberReady?: number;
    numberAvailable?: number;
    conditions?: TimedCondition[];
  };
}
export type WorkloadKind = "Deployment" | "StatefulSet" | "DaemonSet";

export interface WorkloadRollout extends Omit<RolloutView, "current"> {
  kind: WorkloadKind;
  namespace: string;
  name: string;
  /** The Progressing (else Available, else newest) condition's message. */
  conditionMessage: string;
  /** Epoch ms of the newest condition change, else the creation time; 0 when unknown. */
  changedAt: number;
}

function ms(t: string | undefined): number {
  const n = t ? Date.parse(t) : NaN;
  return Number.isNaN(n) ? 0 : n;
}

/** kubectl's StatefulSetStatusViewer.Status. */
function statefulSetView(o: WorkloadObject): Pick<RolloutView, "state" | "message"> {
  const s = o.status ?? {};
  const replicas = o.spec?.replicas;
  if (o.spec?.updateStrategy?.type && o.spec.updateStrategy.type !== "RollingUpdate") return { state: "done", message: `rollout status is only available for RollingUpdate strategy type (this one is ${o.spec.updateStrategy.type})` };
  if (!s.observedGeneration || (o.metadata?.generation ?? 0) > s.observedGeneration) return { state: "progressing", message: "Waiting for statefulset spec update to be observed..." };
  if (replicas !== undefined && (s.readyReplicas ?? 0) < replicas) return { state: "progressing", message: `Waiting for ${replicas - (s.readyReplicas ?? 0)} pods to be ready...` };
  const partition = o.spec?.updateStrategy?.rollingUpdate?.partition;
  if (partition !== undefined && replicas !== undefined) {
    if ((s.updatedReplicas ?? 0) < replicas - partition) return { state: "progressing", message: `Waiting for partitioned roll out to finish: ${s.updatedReplicas ?? 0} out of ${replicas - partition} new pods have been updated...` };
    return { state: "done", message: `partitioned roll out complete: ${s.updatedReplicas ?? 0} new pods have been updated...` };
  }
  if (s.updateRevision !== s.currentRevision) return { state: "progressing", message: `waiting for statefulset rolling update to complete ${s.updatedReplicas ?? 0} pods at revision ${s.updateRevision ?? ""}...` };
  return { state: "done", message: `statefulset rolling update complete ${s.currentReplicas ?? s.replicas ?? 0} pods at revision ${s.currentRevision ?? ""}...` };
}

/** kubectl's DaemonSetStatusViewer.Status. */
function daemonSetView(o: WorkloadObject): Pick<RolloutView, "state" | "message"> {
  const s = o.status ?? {};
  const q = JSON.stringify(o.metadata?.name ?? "");
  if (o.spec?.updateStrategy?.type && o.spec.updateStrategy.type !== "RollingUpdate") return { state: "done", message: `rollout status is only available for RollingUpdate strategy type (this one is ${o.spec.updateStrategy.type})` };
  if ((o.metadata?.generation ?? 0) > (s.observedGeneration ?? 0)) return { state: "progressing", message: "Waiting for daemon set spec update to be observed..." };
  const desired = s.desiredNumberScheduled ?? 0;
  if ((s.updatedNumberScheduled ?? 0) < desired) return { state: "progressing", message: `Waiting for daemon set ${q} rollout to finish: ${s.updatedNumberScheduled ?? 0} out of ${desired} new pods have been updated...` };
  if ((s.numberAvailable ?? 0) < desired) return { state: "progressing", message: `Waiting for daemon set ${q} rollout to finish: ${s.numberAvailable ?? 0} of ${desired} updated pods are available...` };
  return { state: "done", message: `daemon set ${q} successfully rolled out` };
}

/** One workload's rollout: counts, kubectl's verdict and line, its condition message and when it last changed. */
export function workloadRollout(kind: WorkloadKind, o: WorkloadObject): WorkloadRollout {
  const s = o.status ?? {};
  const conditions = s.conditions ?? [];
  const pick = conditions.find((c) => c.type === "Progressing" && c.message) ?? conditions.find((c) => c.type === "Available" && c.message) ?? conditions.find((c) => c.message);
  const changedAt = Math.max(ms(o.metadata?.creationTimestamp), ...conditions.map((c) => Math.max(ms(c.lastUpdateTime), ms(c.lastTransitionTime))));
  const base = { kind, namespace: o.metadata?.namespace ?? "", name: o.metadata?.name ?? "", conditionMessage: pick?.message ?? "", changedAt, generation: o.metadata?.generation ?? 0, observedGeneration: s.observedGeneration ?? 0 };
  if (kind === "Deployment") {
    const { current: _c, ...v } = rolloutView(o as DeploymentObject);
    return { ...v, ...base };
  }
  if (kind === "StatefulSet") {
    return { ...base, desired: o.spec?.replicas ?? 1, updated: s.updatedReplicas ?? 0, ready: s.readyReplicas ?? 0, available: s.availableReplicas ?? s.readyReplicas ?? 0, ...statefulSetView(o) };
  }
  return { ...base, desired: s.desiredNumberScheduled ?? 0, updated: s.updatedNumberScheduled ?? 0, ready: s.numberReady ?? 0, available: s.numberAvailable ?? 0, ...daemonSetView(o) };
}

const STATE_ORDER: Record<RolloutStateName, number> = { failed: 0, progressing: 1, done: 2 };

/** Failed first, then progressing, then done; within each, the most recently changed first. */
export function sortRollouts(rs: WorkloadRollout[]): WorkloadRollout[] {
  return [...rs].sort((a, b) => STATE_ORDER[a.state] - STATE_ORDER[b.state] || b.changedAt - a.changedAt || a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}
