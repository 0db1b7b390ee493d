/**
 * The three patch formats kubectl and client libraries send: JSON merge
 * patch (RFC 7386), JSON patch (RFC 6902), and strategic merge patch —
 * approximated as a merge patch that merges lists of named objects
 * (containers, ports, env) by `name` instead of replacing them.
 */
import { badRequest } from "./status.js";

type Json = any;

const isObj = (v: Json): v is Record<string, Json> => v !== null && typeof v === "object" && !Array.isArray(v);

export function mergePatch(target: Json, patch: Json, strategic = false): Json {
  if (!isObj(patch)) return patch;
  const out: Record<string, Json> = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (strategic && k.startsWith("$")) continue;
    if (v === null) delete out[k];
    else if (strategic && Array.isArray(v) && Array.isArray(out[k]) && isNamedList(v) && isNamedList(out[k])) out[k] = mergeNamedList(out[k], v);
    else out[k] = mergePatch(out[k], v, strategic);
  }
  return out;
}

const isNamedList = (a: Json[]) => a.every((x) => isObj(x) && typeof x["name"] === "string");

function mergeNamedList(cur: Json[], patch: Json[]): Json[] {
  const out = [...cur];
  for (const p of patch) {
    const i = out.findIndex((x) => x["name"] === p["name"]);
    if (p["$patch"] === "delete") {
      if (i >= 0) out.splice(i, 1);
    } else if (i >= 0) out[i] = mergePatch(out[i], p, true);
    else out.push(mergePatch({}, p, true));
  }
  return out;
}

function pointer(path: string): string[] {
  if (path === "") return [];
  if (!path.startsWith("/")) throw badRequest(`the server rejected our request due to an error in our request: invalid JSON pointer "${path}"`);
  return path.slice(1).split("/").map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function parentOf(doc: Json, parts: string[]): [Json, string] {
  let cur = doc;
  for (const p of parts.slice(0, -1)) {
    cur = Array.isArray(cur) ? cur[Number(p)] : cur?.[p];
    if (cur === undefined) throw badRequest(`doc is missing path: "/${parts.join("/")}": missing value`);
  }
  return [cur, parts[parts.length - 1]!];
}

export function jsonPatch(doc: Json, ops: Json): Json {
  if (!Array.isArray(ops)) throw badRequest("json patch must be an array of operations");
  let out = structuredClone(doc);
  for (const op of ops) {
    const parts = pointer(op.path);
    const get = (ps: string[]) => ps.reduce((c: Json, p) => (Array.isArray(c) ? c[Number(p)] : c?.[p]), out);
    const add = (ps: string[], value: Json) => {
      if (ps.length === 0) return (out = value);
      const [parent, last] = parentOf(out, ps);
      if (Array.isArray(parent)) parent.splice(last === "-" ? parent.length : Number(last), 0, value);
      else parent[last] = value;
    };
    const remove = (ps: string[]) => {
      const [parent, last] = parentOf(out, ps);
      if (get(ps) === undefined) throw badRequest(`doc is missing path: "${op.path}": missing value`);
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    };
    switch (op.op) {
      case "add": add(parts, structuredClone(op.value)); break;
      case "remove": remove(parts); break;
      case "replace": remove(parts); add(parts, structuredClone(op.value)); break;
      case "move": { const from = pointer(op.from); const v = get(from); remove(from); add(parts, v); break; }
      case "copy": add(parts, structuredClone(get(pointer(op.from)))); break;
      case "test": if (JSON.stringify(get(parts)) !== JSON.stringify(op.value)) throw badRequest(`testing value ${op.path} failed: test operation failed`); break;
      default: throw badRequest(`Unexpected kind: ${op.op}`);
    }
  }
  return out;
}
