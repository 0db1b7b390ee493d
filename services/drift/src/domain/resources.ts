/**
 * Where a desired object lives in the Kubernetes API, without asking the
 * cluster: the resource (plural) of a kind, whether it is namespaced, the
 * list and get paths, and the RBAC grant that would let the edge read it.
 * Pure.
 *
 * The plural follows apimachinery's `meta.UnsafeGuessKindToResource` (what
 * kubectl falls back to without discovery): lower-case the kind, then
 * "…s" → "…ses", consonant + "y" → "…ies", otherwise + "s"; a few built-in
 * kinds whose plural breaks that rule are listed. A custom resource with an
 * irregular plural is read at the guessed path and comes back unknown (404 of
 * the path), never in sync.
 */
import { scopeForResource } from "@daalu/rbac";

export interface ResourceRef {
  /** "" for the core group. */
  group: string;
  version: string;
  /** Plural, lower case: "deployments". */
  resource: string;
  namespaced: boolean;
}

/** Built-in kinds whose plural is not the guessed one. */
const IRREGULAR: Record<string, string> = { Endpoints: "endpoints", PodMetrics: "pods", NodeMetrics: "nodes" };

/** Built-in kinds that are cluster-scoped (every other kind is read as namespaced). */
const CLUSTER_SCOPED = new Set([
  "Namespace",
  "Node",
  "PersistentVolume",
  "StorageClass",
  "CSIDriver",
  "CSINode",
  "VolumeAttachment",
  "ClusterRole",
  "ClusterRoleBinding",
  "CustomResourceDefinition",
  "APIService",
  "IngressClass",
  "PriorityClass",
  "RuntimeClass",
  "MutatingWebhookConfiguration",
  "ValidatingWebhookConfiguration",
  "ValidatingAdmissionPolicy",
  "ValidatingAdmissionPolicyBinding",
  "CertificateSigningRequest",
  "FlowSchema",
  "PriorityLevelConfiguration",
]);

/** The namespace an object without one is created in. */
export const DEFAULT_NAMESPACE = "default";

export function pluralOf(kind: string): string {
  const irregular = IRREGULAR[kind];
  if (irregular) return irregular;
  const k = kind.toLowerCase();
  if (k.endsWith("s")) return `${k}es`;
  if (/[^aeiou]y$/.test(k)) return `${k.slice(0, -1)}ies`;
  return `${k}s`;
}

export function resourceOf(apiVersion: string, kind: string): ResourceRef {
  const slash = apiVersion.indexOf("/");
  const group = slash < 0 ? "" : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  return { group, version, resource: pluralOf(kind), namespaced: !CLUSTER_SCOPED.has(kind) };
}

/** The namespace an object is read in: its own, "default" for a namespaced kind without one, "" when cluster-scoped. */
export function namespaceOf(ref: ResourceRef, namespace: string): string {
  return ref.namespaced ? namespace || DEFAULT_NAMESPACE : "";
}

/** The collection path of a resource in a namespace ("" = cluster-scoped). */
export function listPath(ref: ResourceRef, namespace: string): string {
  const base = ref.group ? `/apis/${ref.group}/${ref.version}` : `/api/${ref.version}`;
  return `${base}${namespace ? `/namespaces/${encodeURIComponent(namespace)}` : ""}/${ref.resource}`;
}

/** The path of one object. */
export function getPath(ref: ResourceRef, namespace: string, name: string): string {
  return `${listPath(ref, namespace)}/${encodeURIComponent(name)}`;
}

/**
 * The RBAC grant that would let the edge's proxy account read objects of this
 * kind, and the named scope of `@daalu/rbac` that grants it (the fix an admin
 * can generate with POST /v1/clusters/{id}/rbac/patch): "grant get/list on
 * configmaps (scope \"configmaps\")"; without the parenthesis when no named
 * scope covers it.
 */
export function scopeFor(apiVersion: string, kind: string): string {
  const ref = resourceOf(apiVersion, kind);
  const named = scopeForResource(ref.group, ref.resource);
  return `grant get/list on ${ref.resource}${ref.group ? `.${ref.group}` : ""}${named ? ` (scope "${named}")` : ""}`;
}
