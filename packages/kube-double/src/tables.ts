/**
 * Server-side printing: the `meta.k8s.io/v1` Table a real API server returns
 * for `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`. Columns and
 * cell rules follow kubernetes/pkg/printers/internalversion/printers.go
 * (the server always prints "wide", kubectl hides priority>0 columns).
 */
type Obj = Record<string, any>;

export interface ColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

export interface TableRow {
  cells: unknown[];
  conditions?: { type: string; status: string }[];
  object: unknown;
}

const NAME: ColumnDefinition = col("Name", "string", 0, "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names", "name");
const AGE: ColumnDefinition = col("Age", "string", 0, "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata");

function col(name: string, type: string, priority: number, description: string, format = ""): ColumnDefinition {
  return { name, type, format, description, priority };
}

/** k8s.io/apimachinery/pkg/util/duration.HumanDuration. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.floor(hours / 24) % 365;
    return dy === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${dy}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

function since(ts: string | null | undefined, now: number): string {
  if (!ts) return "<unknown>";
  return humanDuration(now - Date.parse(ts));
}

function formatLabels(labels: Record<string, string> | undefined): string {
  const keys = Object.keys(labels ?? {}).sort();
  return keys.length ? keys.map((k) => `${k}=${labels![k]}`).join(",") : "<none>";
}

function selectorString(sel: Obj | undefined): string {
  if (!sel) return "<none>";
  const parts: string[] = Object.keys(sel["matchLabels"] ?? {}).sort().map((k) => `${k}=${sel["matchLabels"][k]}`);
  for (const e of sel["matchExpressions"] ?? []) {
    const vals = [...(e.values ?? [])].sort().join(",");
    parts.push(e.operator === "In" ? `${e.key} in (${vals})` : e.operator === "NotIn" ? `${e.key} notin (${vals})` : e.operator === "Exists" ? e.key : `!${e.key}`);
  }
  return parts.length ? parts.join(",") : "<none>";
}

function containersAndImages(spec: Obj | undefined): [string, string] {
  const cs: Obj[] = spec?.["containers"] ?? [];
  return [cs.map((c) => c["name"]).join(","), cs.map((c) => c["image"]).join(",")];
}

const CONTAINERS = col("Containers", "string", 1, "Names of each container in the template.");
const IMAGES = col("Images", "string", 1, "Images referenced by each container in the template.");
const SELECTOR = col("Selector", "string", 1, "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.");

function podRow(pod: Obj, now: number): { cells: unknown[]; conditions?: TableRow["conditions"] } {
  const spec = pod["spec"] ?? {};
  const status = pod["status"] ?? {};
  let restarts = 0;
  let lastRestart = 0;
  const total = (spec["containers"] ?? []).length;
  let ready = 0;
  let reason: string = status["reason"] || status["phase"] || "";
  let initializing = false;
  const initStatuses: Obj[] = status["initContainerStatuses"] ?? [];
  initStatuses.forEach((c, i) => {
    restarts += c["restartCount"] ?? 0;
    const lt = c["lastState"]?.["terminated"]?.["finishedAt"];
    if (lt) lastRestart = Math.max(lastRestart, Date.parse(lt));
    const t = c["state"]?.["terminated"];
    const w = c["state"]?.["waiting"];
    if (t && t["exitCode"] === 0) return;
    if (t) {
      reason = t["reason"] ? `Init:${t["reason"]}` : t["signal"] ? `Init:Signal:${t["signal"]}` : `Init:ExitCode:${t["exitCode"]}`;
    } else if (w && w["reason"] && w["reason"] !== "PodInitializing") {
      reason = `Init:${w["reason"]}`;
    } else {
      reason = `Init:${i}/${(spec["initContainers"] ?? []).length}`;
    }
    initializing = true;
  });
  if (!initializing) {
    restarts = 0;
    let hasRunning = false;
    const cs: Obj[] = status["containerStatuses"] ?? [];
    for (let i = cs.length - 1; i >= 0; i--) {
      const c = cs[i]!;
      restarts += c["restartCount"] ?? 0;
      const lt = c["lastState"]?.["terminated"]?.["finishedAt"];
      if (lt) lastRestart = Math.max(lastRestart, Date.parse(lt));
      const w = c["state"]?.["waiting"];
      const t = c["state"]?.["terminated"];
      if (w && w["reason"]) reason = w["reason"];
      else if (t && t["reason"]) reason = t["reason"];
      else if (t) reason = t["signal"] ? `Signal:${t["signal"]}` : `ExitCode:${t["exitCode"]}`;
      else if (c["ready"] && c["state"]?.["running"]) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === "Completed" && hasRunning) {
      const readyCond = (status["conditions"] ?? []).some((c: Obj) => c["type"] === "Ready" && c["status"] === "True");
      reason = readyCond ? "Running" : "NotReady";
    }
  }
  if (pod["metadata"]?.["deletionTimestamp"]) reason = status["reason"] === "NodeLost" ? "Unknown" : "Terminating";
  const restartsCell = lastRestart ? `${restarts} (${humanDuration(now - lastRestart)} ago)` : String(restarts);
  const ips: Obj[] = status["podIPs"] ?? [];
  const gates: Obj[] = spec["readinessGates"] ?? [];
  let gatesCell = "<none>";
  if (gates.length) {
    const t = gates.filter((g) => (status["conditions"] ?? []).some((c: Obj) => c["type"] === g["conditionType"] && c["status"] === "True")).length;
    gatesCell = `${t}/${gates.length}`;
  }
  const phase = status["phase"];
  return {
    cells: [pod["metadata"]["name"], `${ready}/${total}`, reason, restartsCell, since(pod["metadata"]["creationTimestamp"], now), ips.length ? ips[0]!["ip"] : (status["podIP"] ?? "<none>"), spec["nodeName"] || "<none>", status["nominatedNodeName"] || "<none>", gatesCell],
    ...(phase === "Succeeded" || phase === "Failed" ? { conditions: [{ type: "Completed", status: "True" }] } : {}),
  };
}

function servicePorts(spec: Obj): string {
  const ports: Obj[] = spec["ports"] ?? [];
  if (!ports.length) return "<none>";
  return ports.map((p) => (p["nodePort"] ? `${p["port"]}:${p["nodePort"]}/${p["protocol"]}` : `${p["port"]}/${p["protocol"]}`)).join(",");
}

function serviceExternalIP(svc: Obj): string {
  const spec = svc["spec"] ?? {};
  const ext: string[] = spec["externalIPs"] ?? [];
  switch (spec["type"]) {
    case "ClusterIP":
    case "NodePort":
      return ext.length ? ext.join(",") : "<none>";
    case "LoadBalancer": {
      const ing: Obj[] = svc["status"]?.["loadBalancer"]?.["ingress"] ?? [];
      const all = [...ing.map((i) => i["ip"] || i["hostname"]).filter(Boolean), ...ext];
      return all.length ? all.join(",") : "<pending>";
    }
    case "ExternalName":
      return spec["externalName"];
    default:
      return "<unknown>";
  }
}

function nodeStatus(node: Obj): string {
  const conds: Obj[] = node["status"]?.["conditions"] ?? [];
  const ready = conds.find((c) => c["type"] === "Ready");
  const st: string[] = [ready ? (ready["status"] === "True" ? "Ready" : "NotReady") : "Unknown"];
  if (node["spec"]?.["unschedulable"]) st.push("SchedulingDisabled");
  return st.join(",");
}

function nodeRoles(labels: Record<string, string> | undefined): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(labels ?? {})) {
    if (k.startsWith("node-role.kubernetes.io/")) {
      const r = k.slice("node-role.kubernetes.io/".length);
      if (r) roles.add(r);
    } else if (k === "kubernetes.io/role" && v) roles.add(v);
  }
  return roles.size ? [...roles].sort().join(",") : "<none>";
}

function nodeAddress(node: Obj, type: string): string {
  const a = (node["status"]?.["addresses"] ?? []).find((x: Obj) => x["type"] === type);
  return a ? a["address"] : "<none>";
}

function eventSource(ev: Obj): string {
  const src = ev["source"] ?? {};
  const component = src["component"] || ev["reportingController"] || ev["reportingComponent"] || "";
  const host = src["host"] || ev["reportingInstance"] || "";
  return host ? `${component}, ${host}` : component;
}

interface Printer {
  columns: ColumnDefinition[];
  row(obj: Obj, now: number): { cells: unknown[]; conditions?: TableRow["conditions"] };
}

const PRINTERS: Record<string, Printer> = {
  Pod: {
    columns: [NAME, col("Ready", "string", 0, "The aggregate readiness state of this pod for accepting traffic."), col("Status", "string", 0, "The aggregate status of the containers in this pod."), col("Restarts", "string", 0, "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."), AGE, col("IP", "string", 1, "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated."), col("Node", "string", 1, "NodeName indicates in which node this pod is scheduled."), col("Nominated Node", "string", 1, "nominatedNodeName is set when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods."), col("Readiness Gates", "string", 1, "If specified, all readiness gates will be evaluated for pod readiness.")],
    row: podRow,
  },
  Service: {
    columns: [NAME, col("Type", "string", 0, "type determines how the Service is exposed."), col("Cluster-IP", "string", 0, "clusterIP is the IP address of the service and is usually assigned randomly."), col("External-IP", "string", 0, "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service."), col("Port(s)", "string", 0, "The list of ports that are exposed by this service."), AGE, col("Selector", "string", 1, "Route service traffic to pods with label keys and values matching this selector.")],
    row: (s, now) => ({ cells: [s["metadata"]["name"], s["spec"]?.["type"] ?? "ClusterIP", s["spec"]?.["clusterIP"] || "<none>", serviceExternalIP(s), servicePorts(s["spec"] ?? {}), since(s["metadata"]["creationTimestamp"], now), formatLabels(s["spec"]?.["selector"])] }),
  },
  Deployment: {
    columns: [NAME, col("Ready", "string", 0, "Number of the pod with ready state"), col("Up-to-date", "integer", 0, "Total number of non-terminated pods targeted by this deployment that have the desired template spec."), col("Available", "integer", 0, "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment."), AGE, CONTAINERS, IMAGES, SELECTOR],
    row: (d, now) => {
      const [c, i] = containersAndImages(d["spec"]?.["template"]?.["spec"]);
      const st = d["status"] ?? {};
      return { cells: [d["metadata"]["name"], `${st["readyReplicas"] ?? 0}/${d["spec"]?.["replicas"] ?? 1}`, st["updatedReplicas"] ?? 0, st["availableReplicas"] ?? 0, since(d["metadata"]["creationTimestamp"], now), c, i, selectorString(d["spec"]?.["selector"])] };
    },
  },
  ReplicaSet: {
    columns: [NAME, col("Desired", "integer", 0, "Replicas is the number of desired pods."), col("Current", "integer", 0, "Replicas is the most recently observed number of replicas."), col("Ready", "integer", 0, "The number of ready replicas for this replica set."), AGE, CONTAINERS, IMAGES, SELECTOR],
    row: (r, now) => {
      const [c, i] = containersAndImages(r["spec"]?.["template"]?.["spec"]);
      const st = r["status"] ?? {};
      return { cells: [r["metadata"]["name"], r["spec"]?.["replicas"] ?? 1, st["replicas"] ?? 0, st["readyReplicas"] ?? 0, since(r["metadata"]["creationTimestamp"], now), c, i, selectorString(r["spec"]?.["selector"])] };
    },
  },
  StatefulSet: {
    columns: [NAME, col("Ready", "string", 0, "Number of the pod with ready state"), AGE, CONTAINERS, IMAGES],
    row: (s, now) => {
      const [c, i] = containersAndImages(s["spec"]?.["template"]?.["spec"]);
      return { cells: [s["metadata"]["name"], `${s["status"]?.["readyReplicas"] ?? 0}/${s["spec"]?.["replicas"] ?? 1}`, since(s["metadata"]["creationTimestamp"], now), c, i] };
    },
  },
  DaemonSet: {
    columns: [NAME, col("Desired", "integer", 0, "The total number of nodes that should be running the daemon pod."), col("Current", "integer", 0, "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod."), col("Ready", "integer", 0, "numberReady is the number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition."), col("Up-to-date", "integer", 0, "The total number of nodes that are running updated daemon pod"), col("Available", "integer", 0, "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)"), col("Node Selector", "string", 0, "NodeSelector is a selector which must be true for the pod to fit on a node."), AGE, CONTAINERS, IMAGES, SELECTOR],
    row: (d, now) => {
      const [c, i] = containersAndImages(d["spec"]?.["template"]?.["spec"]);
      const st = d["status"] ?? {};
      return { cells: [d["metadata"]["name"], st["desiredNumberScheduled"] ?? 0, st["currentNumberScheduled"] ?? 0, st["numberReady"] ?? 0, st["updatedNumberScheduled"] ?? 0, st["numberAvailable"] ?? 0, formatLabels(d["spec"]?.["template"]?.["spec"]?.["nodeSelector"]), since(d["metadata"]["creationTimestamp"], now), c, i, selectorString(d["spec"]?.["selector"])] };
    },
  },
  Node: {
    columns: [NAME, col("Status", "string", 0, "The status of the node"), col("Roles", "string", 0, "The roles of the node"), AGE, col("Version", "string", 0, "Kubelet Version reported by the node."), col("Internal-IP", "string", 1, "List of addresses reachable to the node. Queried from cloud provider, if available."), col("External-IP", "string", 1, "List of addresses reachable to the node. Queried from cloud provider, if available."), col("OS-Image", "string", 1, "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy))."), col("Kernel-Version", "string", 1, "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64)."), col("Container-Runtime", "string", 1, "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).")],
    row: (n, now) => {
      const info = n["status"]?.["nodeInfo"] ?? {};
      return { cells: [n["metadata"]["name"], nodeStatus(n), nodeRoles(n["metadata"]["labels"]), since(n["metadata"]["creationTimestamp"], now), info["kubeletVersion"] ?? "", nodeAddress(n, "InternalIP"), nodeAddress(n, "ExternalIP"), info["osImage"] || "<unknown>", info["kernelVersion"] || "<unknown>", info["containerRuntimeVersion"] || "<unknown>"] };
    },
  },
  Namespace: {
    columns: [NAME, col("Status", "string", 0, "The status of the namespace"), AGE],
    row: (n, now) => ({ cells: [n["metadata"]["name"], n["status"]?.["phase"] ?? "Active", since(n["metadata"]["creationTimestamp"], now)] }),
  },
  Event: {
    columns: [col("Last Seen", "string", 0, "The time at which the most recent occurrence of this event was recorded."), col("Type", "string", 0, "Type of this event (Normal, Warning), new types could be added in the future"), col("Reason", "string", 0, "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."), col("Object", "string", 0, "The object that this event is about."), col("Subobject", "string", 1, "If the reference is to an object's subobject, the field path to it."), col("Source", "string", 1, "The component reporting this event. Should be a short machine understandable string."), col("Message", "string", 0, "A human-readable description of the status of this operation."), col("First Seen", "string", 1, "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)"), col("Count", "string", 1, "The number of times this event has occurred."), { ...NAME, priority: 1 }],
    row: (e, now) => {
      const first = e["firstTimestamp"] ? since(e["firstTimestamp"], now) : since(e["eventTime"], now);
      let last = e["lastTimestamp"] ? since(e["lastTimestamp"], now) : first;
      let count = e["count"] ?? 0;
      if (e["series"]) {
        last = since(e["series"]["lastObservedTime"], now);
        count = e["series"]["count"];
      } else if (!count) count = 1;
      const io = e["involvedObject"] ?? {};
      const target = io["name"] ? `${String(io["kind"] ?? "").toLowerCase()}/${io["name"]}` : String(io["kind"] ?? "").toLowerCase();
      return { cells: [last, e["type"] ?? "", e["reason"] ?? "", target, io["fieldPath"] ?? "", eventSource(e), String(e["message"] ?? "").trim(), first, count, e["metadata"]["name"]] };
    },
  },
  Endpoints: {
    columns: [NAME, col("Endpoints", "string", 0, "Endpoints of the service"), AGE],
    row: (e, now) => {
      const list: string[] = [];
      for (const s of e["subsets"] ?? []) for (const a of s["addresses"] ?? []) for (const p of s["ports"] ?? []) list.push(`${a["ip"]}:${p["port"]}`);
      const cell = list.length === 0 ? "<none>" : list.length > 3 ? `${list.slice(0, 3).join(",")} + ${list.length - 3} more...` : list.join(",");
      return { cells: [e["metadata"]["name"], cell, since(e["metadata"]["creationTimestamp"], now)] };
    },
  },
  EndpointSlice: {
    columns: [NAME, col("AddressType", "string", 0, "addressType specifies the type of address carried by this EndpointSlice."), col("Ports", "string", 0, "ports specifies the list of network ports exposed by each endpoint in this slice."), col("Endpoints", "string", 0, "endpoints is a list of unique endpoints in this slice."), AGE],
    row: (e, now) => {
      const ports: Obj[] = e["ports"] ?? [];
      const portCell = ports.length === 0 ? "<unset>" : ports.map((p) => String(p["port"] ?? "<unset>")).join(",");
      const addrs: string[] = (e["endpoints"] ?? []).flatMap((x: Obj) => x["addresses"] ?? []);
      const epCell = addrs.length === 0 ? "<unset>" : addrs.length > 3 ? `${addrs.slice(0, 3).join(",")} + ${addrs.length - 3} more...` : addrs.join(",");
      return { cells: [e["metadata"]["name"], e["addressType"] ?? "", portCell, epCell, since(e["metadata"]["creationTimestamp"], now)] };
    },
  },
  Lease: {
    columns: [NAME, col("Holder", "string", 0, "holderIdentity contains the identity of the holder of a current lease."), AGE],
    row: (l, now) => ({ cells: [l["metadata"]["name"], l["spec"]?.["holderIdentity"] ?? "<unknown>", since(l["metadata"]["creationTimestamp"], now)] }),
  },
  Secret: {
    columns: [NAME, col("Type", "string", 0, "The type of the secret"), col("Data", "string", 0, "The number of entries in the data"), AGE],
    row: (s, now) => ({ cells: [s["metadata"]["name"], s["type"] ?? "Opaque", Object.keys(s["data"] ?? {}).length, since(s["metadata"]["creationTimestamp"], now)] }),
  },
  ConfigMap: {
    columns: [NAME, col("Data", "string", 0, "Data contains the configuration data"), AGE],
    row: (c, now) => ({ cells: [c["metadata"]["name"], Object.keys(c["data"] ?? {}).length + Object.keys(c["binaryData"] ?? {}).length, since(c["metadata"]["creationTimestamp"], now)] }),
  },
};

/** `includeObject` query parameter: None | Metadata (default) | Object. */
export type IncludeObject = "None" | "Metadata" | "Object";

function rowObject(obj: Obj, include: IncludeObject): unknown {
  if (include === "None") return undefined;
  if (include === "Object") return obj;
  return { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: obj["metadata"] };
}

/** Build the Table for these objects (all of one kind). */
export function toTable(kind: string, objects: Obj[], opts: { resourceVersion: string; includeObject?: IncludeObject; noHeaders?: boolean; now?: number; continueToken?: string }): object {
  const now = opts.now ?? Date.now();
  const include = opts.includeObject ?? "Metadata";
  const printer: Printer = PRINTERS[kind] ?? { columns: [NAME, AGE], row: (o, n) => ({ cells: [o["metadata"]["name"], since(o["metadata"]["creationTimestamp"], n)] }) };
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: { resourceVersion: opts.resourceVersion, ...(opts.continueToken ? { continue: opts.continueToken } : {}) },
    ...(opts.noHeaders ? {} : { columnDefinitions: printer.columns }),
    rows: objects.map((o) => {
      const r = printer.row(o, now);
      const object = rowObject(o, include);
      return { cells: r.cells, ...(r.conditions ? { conditions: r.conditions } : {}), ...(object !== undefined ? { object } : {}) };
    }),
  };
}
