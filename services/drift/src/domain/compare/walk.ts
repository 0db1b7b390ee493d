/**
 * The comparison itself: walks the desired object, and only the fields it
 * sets, beside the live object, and writes an RFC 6902 operation (against
 * the LIVE object, at live array indices) for every place where live does
 * not hold what the manifest says. Pure.
 *
 * - Maps: only the manifest's keys count; keys only live has (defaults,
 *   controllers' labels and annotations) never do.
 * - Lists with Kubernetes merge keys: items matched by key in any order;
 *   a desired item live lacks is appended; items only live has (injected
 *   sidecars, the service-account volume) do not count.
 * - Lists of scalars that are sets (finalizers): every desired item must be
 *   in live; extra live items do not count.
 * - Other lists are atomic: same length, and each item holds what the
 *   desired item at the same index sets; otherwise the whole list is
 *   replaced.
 * - Scalars: equal by meaning where the schema says (quantity,
 *   int-or-string, duration), otherwise strictly.
 * - A `null` in the manifest sets nothing. A manifest's zero value (false, 0,
 *   "", {} or []) equals an absent live field: the API server leaves such
 *   fields out of what it returns.
 * - Nothing under an ignored pointer counts, and added or replaced values
 *   carry no ignored part (an ignored list item keeps its place, with the
 *   item live has there, or the manifest's own where live has none).
 */
import jsonpatch from "fast-json-patch";
import type { JsonPatchOp } from "./index.js";
import { scalarEqual } from "./scalars.js";
import { fieldRule, type FieldRule } from "./schema.js";

/** Ignore pointers as a tree of tokens; `end` marks an ignored path (everything below it too). */
export interface IgnoreNode { end: boolean; children: Map<string, IgnoreNode> }

/** The tree of RFC 6901 pointers; a pointer that is neither "" nor starts with "/" ignores nothing. */
export function ignoreTree(pointers: readonly string[]): IgnoreNode {
  const root: IgnoreNode = { end: false, children: new Map() };
  for (const p of pointers) {
    if (p !== "" && !p.startsWith("/")) continue;
    let node = root;
    for (const token of p === "" ? [] : p.slice(1).split("/").map(jsonpatch.unescapePathComponent)) {
      let next = node.children.get(token);
      if (!next) node.children.set(token, (next = { end: false, children: new Map() }));
      node = next;
    }
    node.end = true;
  }
  return root;
}

const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
const isZero = (v: unknown) => v === false || v === 0 || v === "" || (Array.isArray(v) ? v.length === 0 : isMap(v) && Object.keys(v).length === 0);

/**
 * `value` without the parts under ignored pointers (`ignore` is the node at `value`'s own path). An ignored list
 * item keeps its place, so that an atomic list keeps its length: with the item `live` has there, or, where live has
 * none, the manifest's own (nothing else could fill it).
 */
function strip(value: unknown, ignore: IgnoreNode | undefined, live: unknown): unknown {
  if (!ignore || ignore.children.size === 0) return value;
  if (Array.isArray(value)) {
    const l = Array.isArray(live) ? live : [];
    return value.flatMap((x, i) => {
      const node = ignore.children.get(String(i));
      return [!node?.end ? strip(x, node, l[i]) : i < l.length ? l[i] : x];
    });
  }
  if (isMap(value)) {
    const l = isMap(live) ? live : {};
    return Object.fromEntries(Object.entries(value).flatMap(([k, x]) => (ignore.children.get(k)?.end ? [] : [[k, strip(x, ignore.children.get(k), l[k])]])));
  }
  return value;
}

/** Where the walk stands: the desired value's ignore node and the live value's pointer. */
interface At { ignore: IgnoreNode | undefined; live: string }

const child = (at: At, desiredKey: string, liveKey: string): At => ({
  ignore: at.ignore?.children.get(desiredKey),
  live: `${at.live}/${jsonpatch.escapePathComponent(liveKey)}`,
});

/** Appends to `ops` what turns `live` into what `desired` sets. */
export function walk(desired: unknown, live: unknown, rule: FieldRule | undefined, at: At, ops: JsonPatchOp[]): void {
  if (desired === null || desired === undefined || at.ignore?.end) return;
  if (live === undefined) {
    if (!isZero(desired)) ops.push({ op: "add", path: at.live, value: strip(desired, at.ignore, undefined) });
    return;
  }
  const replace = () => ops.push({ op: "replace", path: at.live, value: strip(desired, at.ignore, live) });
  if (isMap(desired)) {
    if (!isMap(live)) return void replace();
    for (const [k, d] of Object.entries(desired)) walk(d, live[k], fieldRule(rule, k), child(at, k, k), ops);
  } else if (Array.isArray(desired)) {
    if (!Array.isArray(live)) return void replace();
    if (rule?.keys && desired.every(isMap)) keyedList(desired, live, rule, at, ops);
    else if (rule?.set) setList(desired, live, rule, at, ops);
    else if (!atomicListEqual(desired, live, rule, at)) replace();
  } else if (!scalarEqual(desired, live, rule)) {
    replace();
  }
}

/** A merge-key list: each desired item against the live item with the same key. */
function keyedList(desired: Record<string, unknown>[], live: unknown[], rule: FieldRule, at: At, ops: JsonPatchOp[]): void {
  const keys = rule.keys ?? [];
  const keyOf = (item: unknown) => (isMap(item) ? JSON.stringify(keys.map((k) => item[k] ?? rule.keyDefaults?.[k] ?? null)) : undefined);
  const index = new Map<string, number>();
  live.forEach((item, i) => {
    const key = keyOf(item);
    if (key !== undefined && !index.has(key)) index.set(key, i);
  });
  desired.forEach((item, i) => {
    const j = index.get(keyOf(item)!);
    if (j === undefined) {
      const ignore = at.ignore?.children.get(String(i));
      if (!ignore?.end) ops.push({ op: "add", path: `${at.live}/-`, value: strip(item, ignore, undefined) });
    } else {
      walk(item, live[j], rule.items, child(at, String(i), String(j)), ops);
    }
  });
}

/** A set of scalars: every desired item must be in live. */
function setList(desired: unknown[], live: unknown[], rule: FieldRule, at: At, ops: JsonPatchOp[]): void {
  desired.forEach((item, i) => {
    if (item === null || at.ignore?.children.get(String(i))?.end) return;
    if (!live.some((x) => scalarEqual(item, x, rule.items))) ops.push({ op: "add", path: `${at.live}/-`, value: item });
  });
}

/** An atomic list: same length, and each live item holds what the desired item at its index sets. */
function atomicListEqual(desired: unknown[], live: unknown[], rule: FieldRule | undefined, at: At): boolean {
  if (desired.length !== live.length) return false;
  const scratch: JsonPatchOp[] = [];
  for (let i = 0; i < desired.length && scratch.length === 0; i++) walk(desired[i], live[i], rule?.items, child(at, String(i), String(i)), scratch);
  return scratch.length === 0;
}
