/**
 * PLACEHOLDER — replaced at merge by the real comparison engine (branch
 * h/drift-compare: fields the manifest sets only, merge keys, normalised
 * quantities, …). Only the API below is fixed; this naive version says an
 * object is in sync when every leaf the desired object sets equals the live
 * one, and that is all detection relies on. Pure.
 */
export type ObjectDriftState = "in_sync" | "modified";
export interface JsonPatchOp {
  op: "add" | "remove" | "replace";
  path: string;
  value?: unknown;
}
/** JSON pointers into the desired object. */
export interface CompareOptions {
  ignore?: readonly string[];
}
/** `patch` turns live into desired. */
export interface CompareResult {
  state: ObjectDriftState;
  patch: JsonPatchOp[];
}

const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
const escape = (k: string) => k.replace(/~/g, "~0").replace(/\//g, "~1");

export function compareObject(desired: Record<string, unknown>, live: Record<string, unknown>, opts: CompareOptions = {}): CompareResult {
  const ignore = new Set(opts.ignore ?? []);
  const patch: JsonPatchOp[] = [];
  const walk = (d: unknown, l: unknown, path: string): void => {
    if (ignore.has(path)) return;
    if (isMap(d)) {
      if (!isMap(l)) {
        patch.push({ op: l === undefined ? "add" : "replace", path, value: d });
        return;
      }
      for (const [k, v] of Object.entries(d)) walk(v, l[k], `${path}/${escape(k)}`);
      return;
    }
    if (Array.isArray(d)) {
      if (!Array.isArray(l) || l.length !== d.length) {
        patch.push({ op: l === undefined ? "add" : "replace", path, value: d });
        return;
      }
      d.forEach((v, i) => walk(v, l[i], `${path}/${i}`));
      return;
    }
    if (d !== l) patch.push({ op: l === undefined ? "add" : "replace", path, value: d });
  };
  walk(desired, live, "");
  return { state: patch.length === 0 ? "in_sync" : "modified", patch };
}
