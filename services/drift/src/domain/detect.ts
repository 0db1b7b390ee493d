/**
 * The pure half of a drift check: which reads to make (one list per
 * apiVersion, kind and namespace), what each desired object's result is once
 * the reads are back, the summary, and whether a check opens or closes a
 * drift episode. The comparison itself is `compare/`'s.
 */
import { redactSecret, type DesiredObject } from "./bundle.js";
import { compareObject, type JsonPatchOp } from "./compare/index.js";
import { namespaceOf, resourceOf, scopeFor, type ResourceRef } from "./resources.js";

export type DriftState = "in_sync" | "modified" | "missing" | "unknown";

export interface ObjectResult {
  apiVersion: string;
  kind: string;
  /** The namespace read ("" for cluster-scoped kinds). */
  namespace: string;
  name: string;
  state: DriftState;
  /** From live to desired; only when modified. */
  patch?: JsonPatchOp[];
  /** Why it is unknown, verbatim. */
  error?: string;
  /** For a Forbidden read: the grant that would allow it. */
  scope?: string;
}

export interface Summary {
  inSync: number;
  modified: number;
  missing: number;
  unknown: number;
}

/** Desired objects that one list call covers. */
export interface ReadGroup {
  ref: ResourceRef;
  apiVersion: string;
  kind: string;
  namespace: string;
  objects: DesiredObject[];
}

/** Fields never counted for matching objects (JSON pointers into the desired object). */
export interface IgnoreRule {
  kind: string;
  /** "" = every object of the kind. */
  name: string;
  /** "" = any namespace. */
  namespace: string;
  pointers: string[];
}

/** Groups desired objects by (apiVersion, kind, namespace), in first-seen order. */
export function groupObjects(objects: readonly DesiredObject[]): ReadGroup[] {
  const groups = new Map<string, ReadGroup>();
  for (const o of objects) {
    const ref = resourceOf(o.apiVersion, o.kind);
    const namespace = namespaceOf(ref, o.namespace);
    const key = `${o.apiVersion}\n${o.kind}\n${namespace}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { ref, apiVersion: o.apiVersion, kind: o.kind, namespace, objects: [] }));
    g.objects.push(o);
  }
  return [...groups.values()];
}

const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * A live Secret with its values replaced by their hashes (as the bundle
 * stores desired ones), so no live Secret value is compared, stored or shown.
 */
export function redactLive(kind: string, live: Record<string, unknown>): Record<string, unknown> {
  // Items of a list carry no kind of their own: the caller names it.
  return kind === "Secret" ? redactSecret(live) : live;
}

/** The ignore pointers of the rules that match `o`. */
export function pointersFor(rules: readonly IgnoreRule[], o: { kind: string; namespace: string; name: string }): string[] {
  return rules.filter((r) => r.kind === o.kind && (!r.name || r.name === o.name) && (!r.namespace || r.namespace === o.namespace)).flatMap((r) => r.pointers);
}

const identity = (g: ReadGroup, o: DesiredObject) => ({ apiVersion: o.apiVersion, kind: o.kind, namespace: g.namespace, name: o.name });

/** The result of one desired object given its live object (undefined: it does not exist). */
export function judge(g: ReadGroup, o: DesiredObject, live: Record<string, unknown> | undefined, rules: readonly IgnoreRule[]): ObjectResult {
  const id = identity(g, o);
  if (!live) return { ...id, state: "missing" };
  const r = compareObject(o.manifest, redactLive(o.kind, live), { ignore: pointersFor(rules, id) });
  return r.state === "in_sync" ? { ...id, state: "in_sync" } : { ...id, state: "modified", patch: r.patch };
}

/** The result of an object that could not be read: unknown, with the grant that would allow it when Forbidden. */
export function unreadable(g: ReadGroup, o: DesiredObject, status: number, error: string): ObjectResult {
  return { ...identity(g, o), state: "unknown", error, ...(status === 403 ? { scope: scopeFor(o.apiVersion, o.kind) } : {}) };
}

export function summarize(results: readonly ObjectResult[]): Summary {
  const s: Summary = { inSync: 0, modified: 0, missing: 0, unknown: 0 };
  for (const r of results) {
    if (r.state === "in_sync") s.inSync++;
    else if (r.state === "modified") s.modified++;
    else if (r.state === "missing") s.missing++;
    else s.unknown++;
  }
  return s;
}

/**
 * Episodes: a check that finds a modified or missing object opens one
 * ("detected") unless one is open; a check that finds every object in sync
 * closes it ("resolved"). A check whose only non-in-sync objects are unknown
 * changes nothing: it cannot tell.
 */
export function nextEpisode(wasDrifted: boolean, s: Summary): { drifted: boolean; event?: "detected" | "resolved" } {
  const drift = s.modified + s.missing > 0;
  if (drift) return wasDrifted ? { drifted: true } : { drifted: true, event: "detected" };
  const clean = s.unknown === 0;
  if (clean && wasDrifted) return { drifted: false, event: "resolved" };
  return { drifted: wasDrifted };
}

/** The Kubernetes Status message of an error answer, else its text, else the HTTP status. */
export function statusMessage(status: number, body: string): string {
  try {
    const s = JSON.parse(body) as unknown;
    if (isMap(s) && typeof s["message"] === "string" && s["message"]) return s["message"];
  } catch {
    // not JSON: the text itself
  }
  return body.trim() ? body.trim().slice(0, 1000) : `HTTP ${status}`;
}
