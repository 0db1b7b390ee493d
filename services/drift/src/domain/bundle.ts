/**
 * A desired-state bundle: the Kubernetes objects a tenant expects on one
 * cluster, uploaded as multi-document YAML. Parsed and validated before it is
 * stored, so every problem is reported at once, each naming its document
 * (1-based) and line: parseable YAML, a mapping, `apiVersion`, `kind` and
 * `metadata.name` present and well-formed, no List kinds, no object twice,
 * and size limits (bytes, documents). Secret values never leave this
 * function: `data`/`stringData` are replaced by `secretValueHash` of each
 * value, which is all drift detection compares. Pure.
 */
import { createHash } from "node:crypto";
import { LineCounter, parseAllDocuments } from "yaml";

export interface BundleLimits {
  maxBytes: number;
  maxDocuments: number;
}
export const DEFAULT_BUNDLE_LIMITS: BundleLimits = { maxBytes: 1024 * 1024, maxDocuments: 1000 };

export interface BundleProblem {
  /** 1-based document index in the upload; 0 for the upload as a whole. */
  document: number;
  /** 1-based line of the problem in the upload; 0 when not tied to a line. */
  line: number;
  message: string;
}

export interface DesiredObject {
  /** "apps/v1", "v1", … */
  apiVersion: string;
  kind: string;
  /** Empty for cluster-scoped objects (or to mean the default namespace of a namespaced kind). */
  namespace: string;
  name: string;
  /** The document, with Secret values replaced by their hashes. */
  manifest: Record<string, unknown>;
  document: number;
  line: number;
}

export type ParsedBundle = { ok: true; objects: DesiredObject[] } | { ok: false; problems: BundleProblem[] };

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const KIND = /^[A-Z][A-Za-z0-9]{0,62}$/;
const API_VERSION = /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?v[0-9]+((alpha|beta)[0-9]+)?$/;

const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
/** What a hashed Secret value looks like. */
export const SECRET_HASH = /^sha256:[0-9a-f]{64}$/;

/**
 * A Secret value as drift stores and compares it: `sha256:<hex>` of the
 * value's bytes. `data` values are base64 and are hashed decoded,
 * `stringData` values are hashed as UTF-8, so one value hashes alike in
 * either field, and a live Secret (the API server returns only `data`) hashes
 * the same way as the manifest. A non-string value hashes its JSON text.
 */
export function secretValueHash(field: "data" | "stringData", v: unknown): string {
  const bytes = typeof v !== "string" ? Buffer.from(JSON.stringify(v) ?? "", "utf8") : Buffer.from(v, field === "data" ? "base64" : "utf8");
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** A Secret with its values as hashes; detection hashes live Secrets the same way. */
export function redactSecret(m: Record<string, unknown>): Record<string, unknown> {
  const out = { ...m };
  for (const field of ["data", "stringData"] as const) {
    const v = m[field];
    if (isMap(v)) out[field] = Object.fromEntries(Object.entries(v).map(([k, x]) => [k, secretValueHash(field, x)]));
  }
  return out;
}

/** Parses and validates `text` (multi-document YAML); every problem at once, or the objects. */
export function parseBundle(text: string, limits: BundleLimits = DEFAULT_BUNDLE_LIMITS): ParsedBundle {
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > limits.maxBytes) return { ok: false, problems: [{ document: 0, line: 0, message: `the bundle is ${bytes} bytes; at most ${limits.maxBytes} are accepted` }] };
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [];
  const problems: BundleProblem[] = [];
  const objects: DesiredObject[] = [];
  const seen = new Map<string, number>();
  let index = 0;
  for (const doc of list) {
    // An empty document (a trailing `---`, only comments) is no object.
    if (doc.errors.length === 0 && (doc.contents === null || doc.toJS() === null)) continue;
    index++;
    const start = lc.linePos((doc.contents as { range?: [number, number, number] } | null)?.range?.[0] ?? doc.range[0]).line;
    const at = (message: string, offset?: number) => problems.push({ document: index, line: offset === undefined ? start : lc.linePos(offset).line, message });
    if (index > limits.maxDocuments) {
      at(`more than ${limits.maxDocuments} documents`);
      break;
    }
    if (doc.errors.length > 0) {
      for (const e of doc.errors) at(`not valid YAML: ${e.message.split("\n")[0]}`, e.pos[0]);
      continue;
    }
    const m: unknown = doc.toJS({ maxAliasCount: 100 });
    if (!isMap(m)) {
      at("not a Kubernetes object (a YAML mapping with apiVersion, kind and metadata)");
      continue;
    }
    const where = (key: string) => {
      const node = doc.getIn(key.split("."), true) as { range?: [number, number, number] } | undefined;
      return node?.range?.[0];
    };
    const before = problems.length;
    const { apiVersion, kind } = m;
    const meta = isMap(m["metadata"]) ? m["metadata"] : undefined;
    if (typeof apiVersion !== "string" || !apiVersion) at("apiVersion is missing");
    else if (!API_VERSION.test(apiVersion)) at(`apiVersion "${apiVersion}" is not <group>/<version> or <version> (e.g. apps/v1, v1)`, where("apiVersion"));
    if (typeof kind !== "string" || !kind) at("kind is missing");
    else if (!KIND.test(kind)) at(`kind "${kind}" is not a Kubernetes kind (e.g. Deployment)`, where("kind"));
    else if (kind.endsWith("List")) at(`kind ${kind}: upload the items as separate documents, not a List`, where("kind"));
    const name = meta?.["name"];
    const namespace = meta?.["namespace"] ?? "";
    if (typeof name !== "string" || !name) at("metadata.name is missing (generateName is not enough: drift needs a name to find the object)");
    else if (!DNS_SUBDOMAIN.test(name)) at(`metadata.name "${name}" is not a valid Kubernetes name (lower case, digits, '-' and '.')`, where("metadata.name"));
    if (typeof namespace !== "string" || (namespace !== "" && !DNS_LABEL.test(namespace))) at(`metadata.namespace ${JSON.stringify(namespace)} is not a valid namespace name`, where("metadata.namespace"));
    if (problems.length > before) continue;
    const key = `${String(apiVersion).split("/").length > 1 ? String(apiVersion).split("/")[0] : ""}/${String(kind)}/${String(namespace)}/${String(name)}`;
    const first = seen.get(key);
    if (first !== undefined) {
      at(`${String(kind)} ${namespace ? `${String(namespace)}/` : ""}${String(name)} is already in document ${first}`);
      continue;
    }
    seen.set(key, index);
    objects.push({ apiVersion: String(apiVersion), kind: String(kind), namespace: String(namespace), name: String(name), manifest: kind === "Secret" ? redactSecret(m) : m, document: index, line: start });
  }
  if (problems.length === 0 && objects.length === 0) problems.push({ document: 0, line: 0, message: "the bundle holds no Kubernetes object" });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, objects };
}
