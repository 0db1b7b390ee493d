/**
 * The OpenAPI documents a real API server publishes, for the kinds the double
 * serves: v3 per group-version (`/openapi/v3` lists them with a content hash,
 * `/openapi/v3/api/v1?hash=…` serves one; what `kubectl explain` reads) and v2
 * as one JSON document (`/openapi/v2`), derived from the v3 schemas the way
 * kube-openapi writes both from one source. The schemas are upstream's,
 * trimmed to the served kinds (testdata/openapi/README.md says from where and
 * under which license; scripts/trim-openapi.ts makes them).
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** testdata/openapi at the repository root. */
export const OPENAPI_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../../../testdata/openapi");

/** `api/v1` → `api__v1_openapi.json`, `apps/v1` → `apis__apps__v1_openapi.json` (upstream's file names). */
export function openApiFile(groupVersion: string): string {
  return `${openApiPath(groupVersion).replaceAll("/", "__")}_openapi.json`;
}

/** The group-version's path under /openapi/v3: `api/v1`, `apis/apps/v1`. */
function openApiPath(groupVersion: string): string {
  return groupVersion.includes("/") ? `apis/${groupVersion}` : `api/${groupVersion}`;
}

interface V3Doc { openapi: string; info: unknown; components: { schemas: Record<string, unknown> } }

export interface OpenApiDocs {
  /** GET /openapi/v3. */
  index: { paths: Record<string, { serverRelativeURL: string }> };
  /** `api/v1` → the document's JSON text. */
  v3: Map<string, string>;
  /** GET /openapi/v2 as JSON text. */
  v2: string;
}

/** v3 schema → v2 definition: refs point at #/definitions, a lone `allOf: [$ref]` (v3's way to describe a ref) becomes the ref. */
function toV2(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(toV2);
  if (!v || typeof v !== "object") return v;
  const o = v as Record<string, unknown>;
  const allOf = o["allOf"];
  if (Array.isArray(allOf) && allOf.length === 1 && (allOf[0] as Record<string, unknown>)["$ref"]) {
    const { allOf: _a, default: _d, ...rest } = o;
    return toV2({ ...rest, $ref: (allOf[0] as Record<string, unknown>)["$ref"] });
  }
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, k === "$ref" && typeof x === "string" ? x.replace("#/components/schemas/", "#/definitions/") : toV2(x)]));
}

/** Loads the trimmed documents of the given group-versions that testdata/openapi holds. */
export function loadOpenApi(groupVersions: readonly string[], dir = OPENAPI_DIR): OpenApiDocs {
  const index: OpenApiDocs["index"] = { paths: {} };
  const v3 = new Map<string, string>();
  const definitions: Record<string, unknown> = {};
  for (const gv of groupVersions) {
    const file = join(dir, openApiFile(gv));
    if (!existsSync(file)) continue;
    const text = readFileSync(file, "utf8");
    const p = openApiPath(gv);
    const hash = createHash("sha512").update(text).digest("hex").slice(0, 128).toUpperCase();
    index.paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${hash}` };
    v3.set(p, text);
    Object.assign(definitions, toV2((JSON.parse(text) as V3Doc).components.schemas));
  }
  const v2 = JSON.stringify({ swagger: "2.0", info: { title: "Kubernetes", version: "unversioned" }, paths: {}, definitions });
  return { index, v3, v2 };
}
