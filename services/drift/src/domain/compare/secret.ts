/**
 * Secrets: values are compared by hash and no value can reach a result.
 * The desired object's `data`/`stringData` are hashes already (bundle.ts);
 * any value that is not (a caller that skipped the bundle) is hashed here.
 * `stringData` is write-only (the API server folds it into `data`), so the
 * desired `stringData` is compared as `data`. Live `data` values are hashed
 * the same way as the desired ones; a live value that already is a hash
 * (`sha256:<hex>`, which base64 cannot spell, so no API server returns it)
 * is kept, so a patch carrying hashes, once applied, compares in sync. Pure.
 */
import { SECRET_HASH, secretValueHash } from "../bundle.js";
import type { IgnoreNode } from "./walk.js";

const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
const hashed = (field: "data" | "stringData", v: unknown) => (typeof v === "string" && SECRET_HASH.test(v) ? v : secretValueHash(field, v));
const hashAll = (field: "data" | "stringData", m: Record<string, unknown>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, hashed(field, v)]));

export const isSecret = (o: Record<string, unknown>) => o["apiVersion"] === "v1" && o["kind"] === "Secret";

/** [desired, live] with every Secret value as its hash, desired `stringData` folded into `data`. */
export function hashSecretValues(desired: Record<string, unknown>, live: Record<string, unknown>, ignore: IgnoreNode): [Record<string, unknown>, Record<string, unknown>] {
  const d: Record<string, unknown> = { ...desired };
  const dData = isMap(desired["data"]) ? hashAll("data", desired["data"]) : undefined;
  const dString = isMap(desired["stringData"]) ? desired["stringData"] : undefined;
  delete d["stringData"];
  if (dData || dString) {
    const ignored = ignore.children.get("stringData");
    const fromString = dString && !ignored?.end ? Object.entries(dString).filter(([k]) => !ignored?.children.get(k)?.end) : [];
    d["data"] = { ...dData, ...Object.fromEntries(fromString.map(([k, v]) => [k, hashed("stringData", v)])) };
  }
  const l: Record<string, unknown> = { ...live };
  for (const field of ["data", "stringData"] as const) {
    const v = live[field];
    if (isMap(v)) l[field] = hashAll(field, v);
  }
  return [d, l];
}
