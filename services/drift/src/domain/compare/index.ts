/**
 * Drift comparison: whether a live Kubernetes object holds what its manifest
 * sets, and the RFC 6902 patch that would make it so. Only fields the
 * manifest sets count; list, quantity, int-or-string and duration semantics
 * come from the upstream OpenAPI schemas (`schema.ts`); Secret values are
 * compared by hash and only hashes appear in a result (`secret.ts`); the
 * walk's rules are in `walk.ts`. Pure, synchronous, never throws on
 * well-formed JSON.
 */
import { isSecret, hashSecretValues } from "./secret.js";
import { kindRule } from "./schema.js";
import { ignoreTree, walk } from "./walk.js";

/** missing/unknown are decided by the caller (no live object / read error). */
export type ObjectDriftState = "in_sync" | "modified";
/** One RFC 6902 operation. */
export interface JsonPatchOp { op: "add" | "remove" | "replace"; path: string; value?: unknown }
/** ignore: RFC 6901 JSON pointers into the DESIRED object, e.g. "/spec/replicas"; nothing at or under one counts. */
export interface CompareOptions { ignore?: readonly string[] }
/** patch: from LIVE to DESIRED, at live array indices. */
export interface CompareResult { state: ObjectDriftState; patch: JsonPatchOp[] }

/** What the API server owns or fills in, and what names the object (the caller read it by these): never drift. */
export const ALWAYS_IGNORED: readonly string[] = [
  "/apiVersion",
  "/kind",
  "/status",
  "/metadata/managedFields",
  "/metadata/resourceVersion",
  "/metadata/uid",
  "/metadata/creationTimestamp",
  "/metadata/generation",
  "/metadata/selfLink",
  "/metadata/deletionTimestamp",
  "/metadata/deletionGracePeriodSeconds",
];

/**
 * desired: the stored desired object (Secret data/stringData already replaced by "sha256:<hex>" hashes by bundle.ts);
 * live: the object as the API server returned it (JSON). Pure, synchronous, never throws on well-formed JSON.
 */
export function compareObject(desired: Record<string, unknown>, live: Record<string, unknown>, opts?: CompareOptions): CompareResult {
  const ignore = ignoreTree([...ALWAYS_IGNORED, ...(opts?.ignore ?? [])]);
  const [d, l] = isSecret(desired) ? hashSecretValues(desired, live, ignore) : [desired, live];
  const patch: JsonPatchOp[] = [];
  walk(d, l, kindRule(String(desired["apiVersion"]), String(desired["kind"])), { ignore, live: "" }, patch);
  return { state: patch.length > 0 ? "modified" : "in_sync", patch };
}
