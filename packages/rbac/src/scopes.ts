/**
 * The named scopes of the edge's proxy account (the only identity hub calls
 * run as): the chart's three presets, the scopes an admin may add to one
 * (`rbac.extras` of deploy/daalu-edge), and the parameterised
 * `custom-resources:<group>` (`rbac.customResourceGroups`). The rules here
 * are the chart's rules (templates/_rbac.tpl), in the chart's order;
 * packages/rbac/test/chart-agree.test.ts renders the chart with the real helm
 * for every scope and compares.
 */
import { READ, type Rule } from "./rules.js";

export type PresetName = "read-only" | "read-wide" | "operator";
/** The presets in the order each includes the one before. */
export const PRESET_NAMES: readonly PresetName[] = ["read-only", "read-wide", "operator"];

export interface Scope {
  name: string;
  /** What the proxy account may do with it, in plain words. */
  description: string;
  /** True when it reads Secrets: never by default, always said. */
  includesSecrets: boolean;
  /**
   * How the chart grants it: "preset" a value of rbac.preset, "extra" an entry
   * of rbac.extras, "custom-resources" an entry of rbac.customResourceGroups,
   * "included" granted by every preset (no value of its own).
   */
  form: "preset" | "extra" | "custom-resources" | "included";
  rules: Rule[];
}

const read = (apiGroups: string[], resources: string[]): Rule => ({ apiGroups, resources, verbs: [...READ] });

const READ_ONLY_RULES: Rule[] = [
  read([""], ["pods", "services", "events", "nodes", "namespaces"]),
  read(["apps"], ["deployments", "statefulsets", "daemonsets", "replicasets"]),
  { apiGroups: [""], resources: ["pods/log"], verbs: ["get"] },
];
const READ_WIDE_RULES: Rule[] = [
  ...READ_ONLY_RULES,
  read([""], ["configmaps", "endpoints", "persistentvolumeclaims", "persistentvolumes", "resourcequotas", "limitranges"]),
  read(["networking.k8s.io"], ["ingresses", "ingressclasses", "networkpolicies"]),
  read(["batch"], ["jobs", "cronjobs"]),
  read(["autoscaling"], ["horizontalpodautoscalers"]),
  read(["policy"], ["poddisruptionbudgets"]),
  read(["discovery.k8s.io"], ["endpointslices"]),
  read(["storage.k8s.io"], ["storageclasses"]),
  read(["apiextensions.k8s.io"], ["customresourcedefinitions"]),
];
const OPERATOR_RULES: Rule[] = [
  ...READ_WIDE_RULES,
  { apiGroups: ["apps"], resources: ["deployments", "statefulsets", "daemonsets"], verbs: ["patch"] },
  { apiGroups: ["apps"], resources: ["deployments/scale", "statefulsets/scale"], verbs: ["get", "patch", "update"] },
  { apiGroups: [""], resources: ["pods"], verbs: ["delete"] },
];

const preset = (name: PresetName, description: string, rules: Rule[]): Scope => ({ name, description, includesSecrets: false, form: "preset", rules });
const extra = (name: string, description: string, rules: Rule[], includesSecrets = false): Scope => ({ name, description, includesSecrets, form: "extra", rules });

/** Every fixed scope, presets first, then the extras in the order the chart renders them. */
export const SCOPES: readonly Scope[] = [
  preset("read-only", "the default: read pods, services, events, nodes, namespaces, Deployments, StatefulSets, DaemonSets, ReplicaSets; read pod logs", READ_ONLY_RULES),
  preset("read-wide", "read-only, plus read ConfigMaps, Endpoints, EndpointSlices, PVCs, PVs, StorageClasses, ResourceQuotas, LimitRanges, Ingresses, IngressClasses, NetworkPolicies, Jobs, CronJobs, HPAs, PDBs and CRDs", READ_WIDE_RULES),
  preset("operator", "read-wide, plus write proposals: patch Deployments, StatefulSets and DaemonSets, get/patch/update their scale, delete pods", OPERATOR_RULES),
  // Granted by every preset; named so that a missing grant can be told apart and linked to.
  { name: "nodes-namespaces", description: "read nodes and namespaces (every preset grants it)", includesSecrets: false, form: "included", rules: [read([""], ["nodes", "namespaces"])] },
  extra("configmaps", "read ConfigMaps", [read([""], ["configmaps"])]),
  extra("networking", "read Ingresses, IngressClasses and NetworkPolicies", [read(["networking.k8s.io"], ["ingresses", "ingressclasses", "networkpolicies"])]),
  extra("batch", "read Jobs and CronJobs", [read(["batch"], ["jobs", "cronjobs"])]),
  extra("write-proposals", "write proposals: patch Deployments and StatefulSets, get/patch/update their scale", [
    { apiGroups: ["apps"], resources: ["deployments", "statefulsets"], verbs: ["patch"] },
    { apiGroups: ["apps"], resources: ["deployments/scale", "statefulsets/scale"], verbs: ["get", "patch", "update"] },
  ]),
  extra("metrics", "read pod and node metrics (metrics.k8s.io)", [{ apiGroups: ["metrics.k8s.io"], resources: ["pods", "nodes"], verbs: ["get", "list"] }]),
  extra("exec", "exec into, attach to and port-forward to pods (create, and get for the WebSocket upgrade)", [{ apiGroups: [""], resources: ["pods/exec", "pods/attach", "pods/portforward"], verbs: ["create", "get"] }]),
  extra("secrets", "INCLUDES SECRETS: read every Secret of the cluster (the edge still refuses the Secrets of its own namespace)", [read([""], ["secrets"])], true),
];

/** The prefix of the parameterised scope: `custom-resources:cert-manager.io`. */
export const CUSTOM_RESOURCES = "custom-resources";
/** An API group a CRD may have: a DNS subdomain with at least one dot. */
export const GROUP_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/;
/** Built-in groups have named scopes or presets; `custom-resources:` is for CRDs' groups. */
export const isBuiltInGroup = (group: string) => group === "" || !group.includes(".") || group.endsWith(".k8s.io") || group.endsWith(".kubernetes.io");

/** The rules of `custom-resources:<group>`: read every resource of that one group. */
export const customResourceRules = (group: string): Rule[] => [read([group], ["*"])];

export function customResourceScope(group: string): Scope {
  return { name: `${CUSTOM_RESOURCES}:${group}`, description: `read every custom resource of the API group ${group}`, includesSecrets: false, form: "custom-resources", rules: customResourceRules(group) };
}

export const presetRules = (name: PresetName): Rule[] => SCOPES.find((s) => s.name === name)!.rules;
