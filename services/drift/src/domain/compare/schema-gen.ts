/**
 * Derives the comparison's schema table (`schema.ts`) from upstream
 * Kubernetes OpenAPI v3 documents (the ones testdata/openapi holds, as
 * kube-apiserver publishes them), so merge keys, list types and special
 * scalars come from Kubernetes itself rather than from a hand-written list.
 * `schema-table.test.ts` checks that the committed `schema-table.ts` is what
 * this produces, and rewrites it when run with `--write`. Pure.
 */
import type { FieldRule, SchemaTable } from "./schema.js";

type Schema = Record<string, unknown>;
export interface OpenApiDoc { components: { schemas: Record<string, Schema> } }

const QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity";
const INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
const REF_PREFIX = "#/components/schemas/";

const isMap = (v: unknown): v is Schema => v !== null && typeof v === "object" && !Array.isArray(v);

/** The type a schema names: `$ref`, or v3's `allOf: [{ $ref }]`. */
function refOf(s: Schema): string | undefined {
  const direct = s["$ref"];
  if (typeof direct === "string") return direct.replace(REF_PREFIX, "");
  const allOf = s["allOf"];
  if (Array.isArray(allOf) && allOf.length === 1 && isMap(allOf[0])) return refOf(allOf[0]);
  return undefined;
}

const isEmpty = (r: FieldRule) => Object.keys(r).length === 0;

/** The rule of one property schema, keeping references to every object type (pruned later). */
function ruleOf(s: Schema, schemas: Record<string, Schema>): FieldRule {
  const ref = refOf(s);
  if (ref === QUANTITY) return { scalar: "quantity" };
  if (ref === INT_OR_STRING || s["format"] === "int-or-string") return { scalar: "int-or-string" };
  if (s["format"] === "duration") return { scalar: "duration" };
  if (ref) return isMap(schemas[ref]?.["properties"]) ? { ref } : {};
  const rule: FieldRule = {};
  if (s["type"] === "array" && isMap(s["items"])) {
    const items = ruleOf(s["items"], schemas);
    if (!isEmpty(items)) rule.items = items;
    const mapKeys = s["x-kubernetes-list-map-keys"];
    const mergeKey = s["x-kubernetes-patch-merge-key"];
    const keys = Array.isArray(mapKeys) ? mapKeys.map(String) : typeof mergeKey === "string" ? [mergeKey] : undefined;
    const itemRef = refOf(s["items"]);
    if (keys) {
      rule.keys = keys;
      const props = itemRef ? schemas[itemRef]?.["properties"] : undefined;
      const defaults = Object.fromEntries(
        keys.flatMap((k) => {
          const d = isMap(props) && isMap(props[k]) ? props[k]["default"] : undefined;
          return typeof d === "string" || typeof d === "number" || typeof d === "boolean" ? [[k, d]] : [];
        }),
      );
      if (Object.keys(defaults).length > 0) rule.keyDefaults = defaults;
    } else if (!itemRef && (s["x-kubernetes-list-type"] === "set" || String(s["x-kubernetes-patch-strategy"] ?? "").split(",").includes("merge"))) {
      rule.set = true;
    }
  } else if (s["type"] === "object" && isMap(s["additionalProperties"])) {
    const values = ruleOf(s["additionalProperties"], schemas);
    if (!isEmpty(values)) rule.values = values;
  }
  return rule;
}

/** Drops references to types that were pruned, and rules left empty by that. */
function prune(rule: FieldRule, kept: Record<string, unknown>): FieldRule {
  const out: FieldRule = { ...rule };
  if (out.ref && !kept[out.ref]) delete out.ref;
  for (const k of ["items", "values"] as const) {
    const sub = out[k];
    if (!sub) continue;
    const p = prune(sub, kept);
    if (isEmpty(p)) delete out[k];
    else out[k] = p;
  }
  return out;
}

const GVK = "x-kubernetes-group-version-kind";

/** The table for every kind the documents define (List kinds and apimachinery's own types aside). */
export function buildSchemaTable(docs: readonly OpenApiDoc[]): SchemaTable {
  const schemas: Record<string, Schema> = Object.assign({}, ...docs.map((d) => d.components.schemas)) as Record<string, Schema>;
  const kinds: Record<string, string> = {};
  for (const [name, s] of Object.entries(schemas)) {
    if (name.startsWith("io.k8s.apimachinery.")) continue;
    const gvks = s[GVK];
    if (!Array.isArray(gvks)) continue;
    for (const g of gvks as { group: string; version: string; kind: string }[]) {
      if (g.kind.endsWith("List")) continue;
      kinds[`${g.group ? `${g.group}/` : ""}${g.version}/${g.kind}`] = name;
    }
  }
  // Every type reachable from a kind, with a rule for each property.
  const types: Record<string, Record<string, FieldRule>> = {};
  const visit = (name: string) => {
    if (types[name]) return;
    const props = schemas[name]?.["properties"];
    if (!isMap(props)) return;
    const fields: Record<string, FieldRule> = {};
    types[name] = fields;
    for (const [k, p] of Object.entries(props)) if (isMap(p)) fields[k] = ruleOf(p, schemas);
    const walk = (r: FieldRule) => {
      if (r.ref) visit(r.ref);
      if (r.items) walk(r.items);
      if (r.values) walk(r.values);
    };
    for (const r of Object.values(fields)) walk(r);
  };
  for (const name of Object.values(kinds)) visit(name);
  // Keep only what leads to a rule: prune until nothing changes.
  for (let changed = true; changed; ) {
    changed = false;
    for (const [name, fields] of Object.entries(types)) {
      for (const [k, r] of Object.entries(fields)) {
        const p = prune(r, types);
        if (isEmpty(p)) delete fields[k];
        else fields[k] = p;
      }
      if (Object.keys(fields).length === 0) {
        delete types[name];
        changed = true;
      }
    }
  }
  const sorted = <T>(o: Record<string, T>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { kinds: sorted(kinds), types: Object.fromEntries(Object.entries(sorted(types)).map(([n, f]) => [n, sorted(f)])) };
}

/** `schema-table.ts` as committed: one line per kind and per type, so a regeneration diffs readably. */
export function renderSchemaTable(table: SchemaTable): string {
  const lines = [
    "// Generated by schema-gen.ts from testdata/openapi (upstream Kubernetes OpenAPI v3; see its README). Do not edit:",
    "// regenerate with `npx tsx services/drift/src/domain/compare/schema-table.test.ts --write`.",
    'import type { SchemaTable } from "./schema.js";',
    "",
    "export const SCHEMA_TABLE: SchemaTable = {",
    "  kinds: {",
    ...Object.entries(table.kinds).map(([k, v]) => `    ${JSON.stringify(k)}: ${JSON.stringify(v)},`),
    "  },",
    "  types: {",
    ...Object.entries(table.types).map(([k, v]) => `    ${JSON.stringify(k)}: ${JSON.stringify(v)},`),
    "  },",
    "};",
    "",
  ];
  return lines.join("\n");
}
