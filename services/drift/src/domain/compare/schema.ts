/**
 * What the comparison knows of a kind's fields: a table derived from the
 * upstream OpenAPI schemas (`x-kubernetes-list-map-keys`,
 * `x-kubernetes-patch-merge-key`, `x-kubernetes-list-type`,
 * `x-kubernetes-patch-strategy`, Quantity, IntOrString and `format: duration`),
 * generated into `schema-table.ts` by `schema-gen.ts`. A field the table does
 * not describe is compared generically: maps by the keys the manifest sets,
 * lists as a whole, scalars by strict equality. Pure.
 */
import { SCHEMA_TABLE } from "./schema-table.js";

/** One field's comparison rule; every part is optional and an empty rule means "generic". */
export interface FieldRule {
  /** The named object type of the field (a key of `SchemaTable.types`). */
  ref?: string;
  /** Rules of an object's own fields, written inline (for kinds the table lacks, see `kindRule`). */
  fields?: Record<string, FieldRule>;
  /** The rule of every value of a map field (`additionalProperties`). */
  values?: FieldRule;
  /** The rule of every item of a list field. */
  items?: FieldRule;
  /** A list of objects matched item by item on these keys (Kubernetes merge keys), in any order. */
  keys?: string[];
  /** Schema defaults of key fields, used when an item leaves the key out (a port's `protocol` is TCP). */
  keyDefaults?: Record<string, string | number | boolean>;
  /** A list of scalars compared as a set. */
  set?: true;
  /** A scalar compared by meaning rather than spelling. */
  scalar?: "quantity" | "int-or-string" | "duration";
}

export interface SchemaTable {
  /** `apps/v1/Deployment`, `v1/Service` → the kind's type name. */
  kinds: Record<string, string>;
  /** Type name → its fields that have a rule (fields without one are generic). */
  types: Record<string, Record<string, FieldRule>>;
}

/** Kinds whose schema the table lacks but which embed a pod template the table has. */
const POD_TEMPLATE = "io.k8s.api.core.v1.PodTemplateSpec";
const EMBEDDED: Record<string, string[]> = {
  "batch/Job": ["spec", "template"],
  "batch/CronJob": ["spec", "jobTemplate", "spec", "template"],
};

/** The rule of a whole object of `apiVersion`/`kind`; empty when the table does not know it. */
export function kindRule(apiVersion: string, kind: string, table: SchemaTable = SCHEMA_TABLE): FieldRule {
  const ref = table.kinds[`${apiVersion}/${kind}`];
  if (ref) return { ref };
  const path = EMBEDDED[`${apiVersion.split("/")[0]}/${kind}`];
  if (!path || !table.types[POD_TEMPLATE]) return {};
  // Built inside-out: the last key holds the pod template.
  let rule: FieldRule = { ref: POD_TEMPLATE };
  for (const key of [...path].reverse()) rule = { fields: { [key]: rule } };
  return rule;
}

/** The rule of field `key` of an object whose rule is `rule`. */
export function fieldRule(rule: FieldRule | undefined, key: string, table: SchemaTable = SCHEMA_TABLE): FieldRule | undefined {
  if (!rule) return undefined;
  return rule.fields?.[key] ?? (rule.ref ? table.types[rule.ref]?.[key] : undefined) ?? rule.values;
}
