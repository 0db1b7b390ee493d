/**
 * Label and field selectors as kubectl and client-go write them
 * (`app=web,tier!=db`, `env in (a,b)`, `!canary`;
 * `involvedObject.name=x,status.phase!=Failed`).
 */
import { badRequest } from "./status.js";

type Requirement =
  | { key: string; op: "=" | "!="; value: string }
  | { key: string; op: "in" | "notin"; values: string[] }
  | { key: string; op: "exists" | "!exists" };

export type Matcher = (obj: unknown) => boolean;

/** Split on commas that are not inside parentheses and not escaped. */
function splitTerms(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === "\\" && i + 1 < s.length) {
      cur += ch + s[++i];
      continue;
    }
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      out.push(cur);
      cur = "";
      continue;
    }
    cur += ch;
  }
  if (cur.trim() !== "") out.push(cur);
  return out.map((t) => t.trim()).filter((t) => t !== "");
}

function parseLabelRequirement(term: string): Requirement {
  let m = /^([A-Za-z0-9./_-]+)\s+(in|notin)\s+\((.*)\)$/.exec(term);
  if (m) return { key: m[1]!, op: m[2] as "in" | "notin", values: m[3]!.split(",").map((v) => v.trim()).filter((v) => v !== "") };
  m = /^([A-Za-z0-9./_-]+)\s*(==|!=|=)\s*([A-Za-z0-9._-]*)$/.exec(term);
  if (m) return { key: m[1]!, op: m[2] === "!=" ? "!=" : "=", value: m[3]! };
  m = /^!\s*([A-Za-z0-9./_-]+)$/.exec(term);
  if (m) return { key: m[1]!, op: "!exists" };
  m = /^([A-Za-z0-9./_-]+)$/.exec(term);
  if (m) return { key: m[1]!, op: "exists" };
  throw badRequest(`unable to parse requirement: found '${term}', expected: identifier`);
}

function test(req: Requirement, has: boolean, value: string | undefined): boolean {
  switch (req.op) {
    case "=": return has && value === req.value;
    case "!=": return !has || value !== req.value;
    case "in": return has && req.values.includes(value ?? "");
    case "notin": return !has || !req.values.includes(value ?? "");
    case "exists": return has;
    case "!exists": return !has;
  }
}

/** A matcher for `?labelSelector=`; undefined/empty matches everything. */
export function parseLabelSelector(sel: string | null | undefined): Matcher {
  if (!sel) return () => true;
  const reqs = splitTerms(sel).map(parseLabelRequirement);
  return (obj) => {
    const labels = ((obj as { metadata?: { labels?: Record<string, string> } }).metadata?.labels) ?? {};
    return reqs.every((r) => test(r, Object.hasOwn(labels, r.key), labels[r.key]));
  };
}

function unescapeField(v: string): string {
  return v.replace(/\\(.)/g, "$1");
}

/** Look a dotted field path (`involvedObject.name`, `spec.nodeName`) up in an object; missing → "". */
export function fieldValue(obj: unknown, path: string): string {
  let cur: unknown = obj;
  for (const part of path.split(".")) {
    if (cur === null || typeof cur !== "object") return "";
    cur = (cur as Record<string, unknown>)[part];
  }
  if (cur === undefined || cur === null) return "";
  return typeof cur === "object" ? JSON.stringify(cur) : String(cur);
}

/**
 * A matcher for `?fieldSelector=`. Real servers accept a per-resource set of
 * fields; any dotted path into the object is accepted here, and a missing
 * field compares as "" (as `metadata.namespace` does for cluster objects).
 */
export function parseFieldSelector(sel: string | null | undefined): Matcher {
  if (!sel) return () => true;
  const reqs = splitTerms(sel).map((term) => {
    const m = /^([A-Za-z0-9._-]+)\s*(==|!=|=)(.*)$/.exec(term);
    if (!m) throw badRequest(`invalid selector: '${sel}'; can't understand '${term}'`);
    return { key: m[1]!, neg: m[2] === "!=", value: unescapeField(m[3]!) };
  });
  return (obj) => reqs.every((r) => (fieldValue(obj, r.key) === r.value) !== r.neg);
}

/** Does a `LabelSelector` object (matchLabels/matchExpressions) match these labels? */
export function labelSelectorMatches(selector: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] } | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const op = e.operator === "In" ? "in" : e.operator === "NotIn" ? "notin" : e.operator === "Exists" ? "exists" : "!exists";
    const req = (op === "in" || op === "notin" ? { key: e.key, op, values: e.values ?? [] } : { key: e.key, op }) as Requirement;
    if (!test(req, Object.hasOwn(l, e.key), l[e.key])) return false;
  }
  return true;
}
