/**
 * Trims upstream Kubernetes OpenAPI v3 documents down to the kinds the double
 * serves, so `kubectl explain` has real schemas without vendoring megabytes:
 *
 *   npx tsx packages/kube-double/scripts/trim-openapi.ts <dir with upstream *_openapi.json>
 *
 * Input: the per-group-version documents of kubernetes/client-go
 * `openapi/openapitest/testdata/` (Apache-2.0; see testdata/openapi/README.md).
 * Output: testdata/openapi/<same name>, holding `openapi`, `info`, the paths
 * whose operations are all on served kinds (`kubectl explain` looks a kind's
 * path up by the operations' `x-kubernetes-group-version-kind`) and only the
 * schemas reachable from those kinds and paths.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RESOURCES, groupVersion } from "../src/resources.js";
import { OPENAPI_DIR, openApiFile } from "../src/openapi.js";

type Schema = Record<string, unknown>;
interface Doc { openapi: string; info: unknown; paths: Record<string, Record<string, Schema>>; components: { schemas: Record<string, Schema> } }
type Gvk = { group: string; version: string; kind: string };

function refs(v: unknown, out: Set<string>): void {
  if (Array.isArray(v)) for (const x of v) refs(x, out);
  else if (v && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) {
      if (k === "$ref" && typeof x === "string") out.add(x.replace("#/components/schemas/", ""));
      else refs(x, out);
    }
  }
}

const src = process.argv[2];
if (!src) throw new Error("usage: trim-openapi.ts <dir with upstream *_openapi.json>");
for (const gv of [...new Set(RESOURCES.map((r) => groupVersion(r)))]) {
  const name = openApiFile(gv);
  let doc: Doc;
  try {
    doc = JSON.parse(readFileSync(join(src, name), "utf8")) as Doc;
  } catch {
    continue; // upstream has no document for this group-version in the fixture set
  }
  const kinds = new Set(RESOURCES.filter((r) => groupVersion(r) === gv).map((r) => r.kind));
  const all = doc.components.schemas;
  const served = (g: Gvk | undefined) => !!g && groupVersion(g) === gv && kinds.has(g.kind);
  const keep = new Set<string>();
  const todo = Object.keys(all).filter((k) => (all[k]!["x-kubernetes-group-version-kind"] as Gvk[] | undefined)?.some(served));
  // kubectl explain finds a kind's path by the operations' GVK: keep the paths whose every operation is on a served kind.
  const paths = Object.fromEntries(
    Object.entries(doc.paths).filter(([, item]) => {
      const ops = Object.values(item).filter((o) => o && typeof o === "object" && "x-kubernetes-group-version-kind" in o);
      return ops.length > 0 && ops.every((o) => served(o["x-kubernetes-group-version-kind"] as Gvk));
    }),
  );
  const fromPaths = new Set<string>();
  refs(paths, fromPaths);
  todo.push(...fromPaths);
  while (todo.length) {
    const k = todo.pop()!;
    if (keep.has(k) || !all[k]) continue;
    keep.add(k);
    const next = new Set<string>();
    refs(all[k], next);
    todo.push(...next);
  }
  const schemas = Object.fromEntries([...keep].sort().map((k) => [k, all[k]!]));
  writeFileSync(join(OPENAPI_DIR, name), JSON.stringify({ openapi: doc.openapi, info: doc.info, paths, components: { schemas } }) + "\n");
  console.log(`${name}: ${Object.keys(paths).length} of ${Object.keys(doc.paths).length} paths, ${keep.size} of ${Object.keys(all).length} schemas`);
}
