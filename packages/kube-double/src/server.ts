/**
 * The HTTP side of the double: routing like kube-apiserver's RequestInfo
 * resolver, authentication, authorization, then list/get/watch/write/log
 * handlers over the ObjectStore.
 */
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import { apiGroup, apiGroupList, apiResourceList, apiVersions, findResource, groupVersion, RESOURCES, type ResourceInfo } from "./resources.js";
import { alreadyExists, badRequest, conflict, forbidden, invalid, KubeStatusError, methodNotSupported, notFound, pathNotFound, unauthorized, unsupportedMediaType, type StatusBody } from "./status.js";
import { parseFieldSelector, parseLabelSelector, type Matcher } from "./selectors.js";
import { toTable, type IncludeObject } from "./tables.js";
import { authorize, serviceAccountUser, type KubeUser, type RbacPolicy } from "./rbac.js";
import { ObjectStore, type KubeObject, type StoreEvent } from "./store.js";
import { LogStore } from "./logs.js";
import { jsonPatch, mergePatch } from "./patch.js";
import { PacedWriter } from "./paced.js";

/** What `/version` answers: kubectl (and the gcloud kubectl dispatcher) pick their behaviour from it. */
export const SERVER_VERSION = {
  major: "1", minor: "32", gitVersion: "v1.32.4", gitCommit: "59526cd4867447956156ae3a602fcbac10a2c335", gitTreeState: "clean",
  buildDate: "2025-04-22T16:02:27Z", goVersion: "go1.23.6", compiler: "gc", platform: "linux/amd64",
} as const;

/** One request as the double saw it: lets tests assert that calls really went through. */
export interface RequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Authenticated user name, if any. */
  user?: string;
  verb?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  /** HTTP status written (set once the response finishes). */
  status?: number;
}

export interface ServerState {
  store: ObjectStore;
  logs: LogStore;
  tokens: Map<string, KubeUser>;
  policy: RbacPolicy;
  /** Accept unauthenticated requests as system:anonymous (then RBAC decides) instead of answering 401. */
  anonymous: boolean;
  /** Expiry (ms since epoch) of tokens minted by TokenRequest; an expired one authenticates no one. */
  tokenExpiry: Map<string, number>;
  requests: RequestRecord[];
}

/** kube-apiserver's default and minimum TokenRequest lifetimes. */
const TOKEN_DEFAULT_SECONDS = 3600;
const TOKEN_MIN_SECONDS = 600;

const PUBLIC_PATHS = new Set(["/version", "/healthz", "/livez", "/readyz"]);
const NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const MAX_BODY = 3 * 1024 * 1024;

interface ResourceRequest {
  r: ResourceInfo | undefined;
  group: string;
  version: string;
  plural: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

function parseResourcePath(segs: string[]): ResourceRequest | "discovery" | undefined {
  let group: string, version: string | undefined, rest: string[];
  if (segs[0] === "api") {
    group = "";
    version = segs[1];
    rest = segs.slice(2);
  } else if (segs[0] === "apis") {
    group = segs[1] ?? "";
    version = segs[2];
    rest = segs.slice(3);
  } else return undefined;
  if (!version || rest.length === 0) return "discovery";
  let namespace: string | undefined, plural: string, name: string | undefined, subresource: string | undefined;
  if (rest[0] === "namespaces" && rest.length >= 3) {
    namespace = rest[1];
    [plural, name, subresource] = [rest[2]!, rest[3], rest[4]];
    if (rest.length > 5) return undefined;
  } else {
    [plural, name, subresource] = [rest[0]!, rest[1], rest[2]];
    if (rest.length > 3) return undefined;
    // The namespace object's own name is its namespace for authorization.
    if (plural === "namespaces" && name) namespace = name;
  }
  return { r: findResource(group, version, plural), group, version, plural, namespace, name, subresource };
}

function verbOf(method: string, rr: ResourceRequest, watch: boolean): string {
  switch (method) {
    case "GET":
    case "HEAD":
      return watch ? "watch" : rr.name ? "get" : "list";
    case "POST": return "create";
    case "PUT": return "update";
    case "PATCH": return "patch";
    case "DELETE": return rr.name ? "delete" : "deletecollection";
    default: return method.toLowerCase();
  }
}

function writeJson(res: http.ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text), "Cache-Control": "no-cache, private" });
  res.end(text);
}

function writeStatus(res: http.ServerResponse, s: StatusBody): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  writeJson(res, s.code, s);
}

async function readBody(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > MAX_BODY) throw new KubeStatusError({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: "Request entity too large: limit is 3145728", reason: "RequestEntityTooLarge", code: 413 });
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest(`the server rejected our request due to an error in our request: json: cannot unmarshal body (${text.length} bytes)`);
  }
}

/** Items of a List carry no apiVersion/kind on a real server; clients fill them in. */
function listItem(o: KubeObject): KubeObject {
  const { apiVersion: _a, kind: _k, ...rest } = o;
  return rest as KubeObject;
}

function nowTimestamp(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, "Z");
}

export function createHandler(state: ServerState, streams: Set<http.ServerResponse>) {
  const { store, logs } = state;

  function authenticate(req: http.IncomingMessage): KubeUser | undefined {
    const h = req.headers.authorization;
    const m = h ? /^Bearer\s+(.+)$/i.exec(h) : null;
    if (m) {
      const token = m[1]!.trim();
      const exp = state.tokenExpiry.get(token);
      if (exp !== undefined && exp <= Date.now()) return undefined;
      return state.tokens.get(token);
    }
    return state.anonymous ? { name: "system:anonymous", groups: ["system:unauthenticated"] } : undefined;
  }

  function ensureNamespace(ns: string): void {
    if (!store.get("namespaces", undefined, ns)) throw notFound({ group: "", plural: "namespaces" }, ns);
  }

  function listObjects(r: ResourceInfo, namespace: string | undefined, label: Matcher, field: Matcher): KubeObject[] {
    // Read-only: callers serialize or delete these, never change them.
    return store.list(r, r.namespaced ? namespace : undefined, true).filter((o) => label(o) && field(o));
  }

  function prepareWrite(r: ResourceInfo, body: KubeObject, namespace: string | undefined): KubeObject {
    if (!body || typeof body !== "object" || Array.isArray(body)) throw badRequest("the body of the request must be a JSON object");
    if (body["kind"] && body["kind"] !== r.kind) throw badRequest(`the kind in the data (${body["kind"]}) does not match the expected kind (${r.kind})`);
    const o = structuredClone(body);
    o.metadata ??= {};
    if (r.namespaced) {
      if (o.metadata["namespace"] && namespace && o.metadata["namespace"] !== namespace) throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
      o.metadata["namespace"] = namespace;
    }
    if (r.kind === "Secret") {
      if (o["stringData"]) {
        o["data"] = { ...(o["data"] ?? {}) };
        for (const [k, v] of Object.entries(o["stringData"] as Record<string, string>)) o["data"][k] = Buffer.from(String(v)).toString("base64");
        delete o["stringData"];
      }
      o["type"] ??= "Opaque";
      for (const [k, v] of Object.entries((o["data"] ?? {}) as Record<string, unknown>)) {
        if (typeof v !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) throw invalid(r, o.metadata["name"] ?? "", `data[${k}]`, `Invalid value: "<secret contents redacted>": illegal base64 data`);
      }
    }
    return o;
  }

  function validateName(r: ResourceInfo, name: string): void {
    if (!name) throw invalid(r, "", "metadata.name", "Required value: name or generateName is required");
    if (name.length > 253 || !NAME_RE.test(name)) {
      throw invalid(r, name, "metadata.name", `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`);
    }
  }

  async function handleCreate(r: ResourceInfo, rr: ResourceRequest, req: http.IncomingMessage, res: http.ServerResponse, dryRun: boolean): Promise<void> {
    if (rr.name) throw methodNotSupported(r, "create");
    const o = prepareWrite(r, (await readBody(req)) as KubeObject, rr.namespace);
    if (!o.metadata["name"] && o.metadata["generateName"]) o.metadata["name"] = `${o.metadata["generateName"]}${randomBytes(3).toString("hex").slice(0, 5)}`;
    validateName(r, o.metadata["name"] ?? "");
    if (r.namespaced) ensureNamespace(rr.namespace!);
    if (store.get(r, rr.namespace, o.metadata["name"])) throw alreadyExists(r, o.metadata["name"]);
    for (const k of ["resourceVersion", "uid", "creationTimestamp", "deletionTimestamp"]) delete o.metadata[k];
    if (r.kind === "Namespace") o["status"] = { phase: "Active" };
    if (dryRun) {
      writeJson(res, 201, { ...o, apiVersion: groupVersion(r), kind: r.kind, metadata: { ...o.metadata, creationTimestamp: nowTimestamp() } });
      return;
    }
    writeJson(res, 201, store.put(o, r));
  }

  function finishUpdate(r: ResourceInfo, rr: ResourceRequest, current: KubeObject, next: KubeObject, res: http.ServerResponse, dryRun: boolean): void {
    if (next.metadata?.["name"] !== rr.name) throw badRequest(`the name of the object (${next.metadata?.["name"]}) does not match the name on the URL (${rr.name})`);
    const rv = next.metadata["resourceVersion"];
    if (rv && rv !== current.metadata["resourceVersion"]) throw conflict(r, rr.name!);
    if (rr.subresource === "status") next = { ...current, status: next["status"] };
    else if (r.subresources?.["status"] && current["status"] !== undefined) next["status"] = current["status"];
    if (dryRun) {
      writeJson(res, 200, next);
      return;
    }
    writeJson(res, 200, store.put(next, r));
  }

  async function handleUpdate(r: ResourceInfo, rr: ResourceRequest, req: http.IncomingMessage, res: http.ServerResponse, dryRun: boolean): Promise<void> {
    const current = store.get(r, rr.namespace, rr.name!);
    const body = prepareWrite(r, (await readBody(req)) as KubeObject, rr.namespace);
    if (!current) throw notFound(r, rr.name!);
    finishUpdate(r, rr, current, body, res, dryRun);
  }

  async function handlePatch(r: ResourceInfo, rr: ResourceRequest, req: http.IncomingMessage, res: http.ServerResponse, dryRun: boolean): Promise<void> {
    const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim();
    if (!["application/merge-patch+json", "application/strategic-merge-patch+json", "application/json-patch+json"].includes(type)) throw unsupportedMediaType(type);
    const patch = await readBody(req);
    const current = store.get(r, rr.namespace, rr.name!);
    if (!current) throw notFound(r, rr.name!);
    const patched = type === "application/json-patch+json" ? jsonPatch(current, patch) : mergePatch(current, patch, type === "application/strategic-merge-patch+json");
    const next = prepareWrite(r, patched as KubeObject, rr.namespace);
    // A patch without a resourceVersion applies to whatever is current.
    if (!(patch as KubeObject)?.metadata?.resourceVersion) next.metadata["resourceVersion"] = current.metadata["resourceVersion"];
    finishUpdate(r, rr, current, next, res, dryRun);
  }

  function handleDelete(r: ResourceInfo, rr: ResourceRequest, res: http.ServerResponse, dryRun: boolean, label: Matcher, field: Matcher): void {
    if (!rr.name) {
      const victims = listObjects(r, rr.namespace, label, field);
      if (!dryRun) for (const v of victims) store.delete(r, v.metadata["namespace"], v.metadata["name"]);
      writeJson(res, 200, { kind: `${r.kind}List`, apiVersion: groupVersion(r), metadata: { resourceVersion: store.resourceVersion }, items: victims.map(listItem) });
      return;
    }
    const current = store.get(r, rr.namespace, rr.name);
    if (!current) throw notFound(r, rr.name);
    if (dryRun) {
      writeJson(res, 200, current);
      return;
    }
    if (r.kind === "Namespace") {
      for (const nr of RESOURCES.filter((x) => x.namespaced)) for (const o of store.list(nr, rr.name)) store.delete(nr, rr.name, o.metadata["name"]);
    }
    writeJson(res, 200, store.delete(r, rr.namespace, rr.name));
  }

  /**
   * TokenRequest: a new bearer token of the ServiceAccount, valid for
   * spec.expirationSeconds (default 1 h, at least 10 min, as kube-apiserver).
   * Unlike the real server, the ServiceAccount object need not exist and
   * audiences/boundObjectRef are echoed, not enforced.
   */
  async function handleTokenRequest(rr: ResourceRequest, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = (await readBody(req)) as { spec?: { expirationSeconds?: number; audiences?: string[]; boundObjectRef?: unknown } } | null;
    const seconds = body?.spec?.expirationSeconds ?? TOKEN_DEFAULT_SECONDS;
    if (!Number.isInteger(seconds) || seconds < TOKEN_MIN_SECONDS) {
      throw invalid({ group: "authentication.k8s.io", kind: "TokenRequest", plural: "tokenrequests" }, rr.name!, "spec.expirationSeconds", `Invalid value: ${seconds}: may not specify a duration less than 10 minutes`);
    }
    const token = `kd-sa.${randomBytes(24).toString("base64url")}`;
    const expiresAt = Date.now() + seconds * 1000;
    state.tokens.set(token, serviceAccountUser(rr.namespace!, rr.name!));
    state.tokenExpiry.set(token, expiresAt);
    writeJson(res, 201, {
      kind: "TokenRequest", apiVersion: "authentication.k8s.io/v1",
      metadata: { name: rr.name, namespace: rr.namespace, creationTimestamp: nowTimestamp() },
      spec: { audiences: body?.spec?.audiences ?? ["https://kubernetes.default.svc.cluster.local"], expirationSeconds: seconds, boundObjectRef: body?.spec?.boundObjectRef ?? null },
      status: { token, expirationTimestamp: new Date(expiresAt).toISOString().replace(/\.\d+Z$/, "Z") },
    });
  }

  function handleGet(r: ResourceInfo, rr: ResourceRequest, res: http.ServerResponse, table: boolean, include: IncludeObject): void {
    const o = store.get(r, rr.namespace, rr.name!);
    if (!o) throw notFound(r, rr.name!);
    if (rr.subresource === "status" || !rr.subresource) {
      writeJson(res, 200, table ? toTable(r.kind, [o], { resourceVersion: o.metadata["resourceVersion"], includeObject: include }) : o);
      return;
    }
    throw pathNotFound();
  }

  function handleList(r: ResourceInfo, rr: ResourceRequest, res: http.ServerResponse, table: boolean, include: IncludeObject, label: Matcher, field: Matcher): void {
    const items = listObjects(r, rr.namespace, label, field);
    const rv = store.resourceVersion;
    if (table) writeJson(res, 200, toTable(r.kind, items, { resourceVersion: rv, includeObject: include }));
    else writeJson(res, 200, { kind: `${r.kind}List`, apiVersion: groupVersion(r), metadata: { resourceVersion: rv }, items: items.map(listItem) });
  }

  function handleWatch(r: ResourceInfo, rr: ResourceRequest, q: URLSearchParams, req: http.IncomingMessage, res: http.ServerResponse, table: boolean, include: IncludeObject, label: Matcher, field: Matcher): void {
    const nameMatch: Matcher = rr.name ? (o) => (o as KubeObject).metadata["name"] === rr.name : () => true;
    const matches = (o: KubeObject | undefined) => !!o && (!r.namespaced || !rr.namespace || o.metadata["namespace"] === rr.namespace) && nameMatch(o) && label(o) && field(o);
    const rvParam = q.get("resourceVersion") ?? "";
    const sendInitial = q.get("sendInitialEvents") === "true";
    let headersDone = false;
    const encode = (type: string, object: KubeObject) => {
      const obj = table && type !== "ERROR" && type !== "BOOKMARK" ? toTable(r.kind, [object], { resourceVersion: object.metadata["resourceVersion"], includeObject: include }) : object;
      return JSON.stringify({ type, object: obj }) + "\n";
    };
    const start = () => {
      if (headersDone) return;
      headersDone = true;
      res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-cache, private", "Transfer-Encoding": "chunked" });
      res.flushHeaders();
    };
    // Buffer live events until the replay is written, so nothing is lost or reordered.
    const pending: StoreEvent[] = [];
    let live = false;
    const send = (e: StoreEvent) => {
      const now = matches(e.object);
      const before = e.type === "MODIFIED" && matches(e.previous);
      let type: string | undefined = e.type;
      if (e.type === "MODIFIED") type = now && before ? "MODIFIED" : now ? "ADDED" : before ? "DELETED" : undefined;
      else if (!now) type = undefined;
      if (type) res.write(encode(type, e.object));
    };
    const unsubscribe = store.subscribe((e) => {
      if (e.resource !== r) return;
      if (live) send(e);
      else pending.push(e);
    });
    let timer: NodeJS.Timeout | undefined;
    const cleanup = () => {
      unsubscribe();
      if (timer) clearTimeout(timer);
      streams.delete(res);
    };
    streams.add(res);
    req.on("close", cleanup);
    res.on("close", cleanup);
    start();
    const startRv = Number(store.resourceVersion);
    if (rvParam === "" || rvParam === "0" || sendInitial) {
      for (const o of listObjects(r, rr.namespace, label, field)) if (matches(o)) res.write(encode("ADDED", o));
      if (sendInitial) {
        res.write(JSON.stringify({ type: "BOOKMARK", object: { kind: r.kind, apiVersion: groupVersion(r), metadata: { resourceVersion: String(startRv), annotations: { "k8s.io/initial-events-end": "true" } } } }) + "\n");
      }
    } else {
      const since = Number(rvParam);
      const replay = Number.isFinite(since) ? store.eventsSince(r, since) : undefined;
      if (!replay) {
        const st: StatusBody = { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: `too old resource version: ${rvParam} (${store.oldestResumableVersion})`, reason: "Expired", code: 410 };
        res.end(JSON.stringify({ type: "ERROR", object: st }) + "\n");
        cleanup();
        return;
      }
      for (const e of replay) if (e.resourceVersion <= startRv) send(e);
    }
    for (const e of pending) if (e.resourceVersion > startRv) send(e);
    live = true;
    const timeout = Number(q.get("timeoutSeconds") ?? "");
    if (Number.isFinite(timeout) && timeout > 0) timer = setTimeout(() => res.end(), timeout * 1000);
  }

  function handleLog(rr: ResourceRequest, q: URLSearchParams, req: http.IncomingMessage, res: http.ServerResponse): void {
    const podsR = findResource("", "v1", "pods")!;
    const pod = store.get(podsR, rr.namespace, rr.name!);
    if (!pod) throw notFound(podsR, rr.name!);
    const containers: string[] = (pod["spec"]?.["containers"] ?? []).map((c: KubeObject) => c["name"]);
    let container = q.get("container") ?? "";
    if (!container) {
      if (containers.length !== 1) throw badRequest(`a container name must be specified for pod ${rr.name}, choose one of: [${containers.join(" ")}]`);
      container = containers[0]!;
    }
    if (!containers.includes(container)) throw badRequest(`container ${container} is not valid for pod ${rr.name}`);
    const previous = q.get("previous") === "true";
    const status = (pod["status"]?.["containerStatuses"] ?? []).find((c: KubeObject) => c["name"] === container);
    const waiting = status?.["state"]?.["waiting"]?.["reason"];
    if (!previous && (waiting === "ContainerCreating" || waiting === "PodInitializing")) throw badRequest(`container "${container}" in pod "${rr.name}" is waiting to start: ${waiting}`);
    if (previous && !logs.has(rr.namespace!, rr.name!, container, true)) throw badRequest(`previous terminated container "${container}" in pod "${rr.name}" not found`);
    const ts = q.get("timestamps") === "true";
    const fmt = (l: { time: Date; text: string }) => (ts ? `${LogStore.timestamp(l.time)} ${l.text}\n` : `${l.text}\n`);
    let lines = logs.read(rr.namespace!, rr.name!, container, previous);
    const sinceSeconds = Number(q.get("sinceSeconds") ?? "");
    if (Number.isFinite(sinceSeconds) && sinceSeconds > 0) lines = lines.filter((l) => l.time.getTime() >= Date.now() - sinceSeconds * 1000);
    const sinceTime = q.get("sinceTime");
    if (sinceTime) lines = lines.filter((l) => l.time.getTime() >= Date.parse(sinceTime));
    const tail = q.get("tailLines");
    if (tail !== null && Number(tail) >= 0) lines = Number(tail) === 0 ? [] : lines.slice(-Number(tail));
    let budget = q.get("limitBytes") ? Number(q.get("limitBytes")) : Infinity;
    res.writeHead(200, { "Content-Type": "text/plain", "Cache-Control": "no-cache, private", "Transfer-Encoding": "chunked" });
    const out = new PacedWriter(res);
    const write = (text: string) => {
      if (budget <= 0) return;
      const b = Buffer.from(text).subarray(0, budget);
      budget -= b.length;
      out.write(b);
    };
    for (const l of lines) write(fmt(l));
    if (q.get("follow") !== "true" || previous) {
      out.end();
      return;
    }
    res.flushHeaders();
    streams.add(res);
    const stop = logs.follow(rr.namespace!, rr.name!, container, { write: (l) => write(fmt(l)), end: () => out.end() });
    const cleanup = () => {
      stop();
      streams.delete(res);
    };
    req.on("close", cleanup);
    res.on("close", cleanup);
  }

  return async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://kube-double");
    const rec: RequestRecord = { method: req.method ?? "GET", path: url.pathname, query: Object.fromEntries(url.searchParams) };
    state.requests.push(rec);
    res.on("finish", () => (rec.status = res.statusCode));
    res.on("close", () => (rec.status ??= res.statusCode));
    try {
      const path = url.pathname.replace(/\/+$/, "") || "/";
      if (PUBLIC_PATHS.has(path)) {
        if (path === "/version") writeJson(res, 200, SERVER_VERSION);
        else {
          res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8" });
          res.end("ok");
        }
        return;
      }
      const user = authenticate(req);
      if (!user) throw unauthorized();
      rec.user = user.name;
      const segs = path.split("/").filter(Boolean).map(decodeURIComponent);
      const rr = parseResourcePath(segs);
      if (rr === undefined || rr === "discovery") {
        if (req.method !== "GET" && req.method !== "HEAD") throw pathNotFound();
        // Discovery is open to every authenticated user (system:discovery).
        let body: object | undefined;
        if (path === "/api") body = apiVersions(`${req.socket.localAddress}:${req.socket.localPort}`);
        else if (path === "/apis") body = apiGroupList();
        else if (segs[0] === "api" && segs.length === 2) body = apiResourceList("", segs[1]!);
        else if (segs[0] === "apis" && segs.length === 2) body = apiGroup(segs[1]!);
        else if (segs[0] === "apis" && segs.length === 3) body = apiResourceList(segs[1]!, segs[2]!);
        if (!body) throw pathNotFound();
        writeJson(res, 200, body);
        return;
      }
      const q = url.searchParams;
      const watch = q.get("watch") === "true" || q.get("watch") === "1";
      const verb = verbOf(req.method ?? "GET", rr, watch);
      Object.assign(rec, { verb, resource: rr.plural, ...(rr.subresource ? { subresource: rr.subresource } : {}), ...(rr.namespace ? { namespace: rr.namespace } : {}), ...(rr.name ? { name: rr.name } : {}) });
      const attrs = { user, verb, group: rr.group, plural: rr.plural, ...(rr.subresource ? { subresource: rr.subresource } : {}), ...(rr.namespace ? { namespace: rr.namespace } : {}), ...(rr.name ? { name: rr.name } : {}) };
      if (!authorize(state.policy, attrs)) throw forbidden({ ...attrs, user: user.name });
      const r = rr.r;
      if (!r) throw pathNotFound();
      if (!r.namespaced && rr.namespace && r.plural !== "namespaces") throw pathNotFound();
      if (rr.subresource && !r.subresources?.[rr.subresource]) throw pathNotFound();
      if (r.namespaced && !rr.namespace && (rr.name || !["list", "watch"].includes(verb))) throw pathNotFound();
      const accept = String(req.headers.accept ?? "");
      const table = /as=Table/.test(accept);
      const include = (q.get("includeObject") as IncludeObject | null) ?? "Metadata";
      const label = parseLabelSelector(q.get("labelSelector"));
      const field = parseFieldSelector(q.get("fieldSelector"));
      const dryRun = q.has("dryRun");
      if (rr.subresource === "token") {
        if (verb !== "create") throw methodNotSupported(r, verb);
        return await handleTokenRequest(rr, req, res);
      }
      if (rr.subresource === "log") {
        if (verb !== "get") throw methodNotSupported(r, verb);
        handleLog(rr, q, req, res);
        return;
      }
      switch (verb) {
        case "get": return handleGet(r, rr, res, table, include);
        case "list": return handleList(r, rr, res, table, include, label, field);
        case "watch": return handleWatch(r, rr, q, req, res, table, include, label, field);
        case "create": return await handleCreate(r, rr, req, res, dryRun);
        case "update": return await handleUpdate(r, rr, req, res, dryRun);
        case "patch": return await handlePatch(r, rr, req, res, dryRun);
        case "delete":
        case "deletecollection": return handleDelete(r, rr, res, dryRun, label, field);
        default: throw methodNotSupported(r, verb);
      }
    } catch (err) {
      if (err instanceof KubeStatusError) writeStatus(res, err.status);
      else writeStatus(res, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: "Internal error occurred: kube-double failed to handle the request", reason: "InternalError", code: 500 });
    }
  };
}

export function listen(handler: http.RequestListener, tls: { key: string; cert: string } | undefined, host: string, port: number): Promise<http.Server> {
  const server = tls ? https.createServer({ key: tls.key, cert: tls.cert }, handler) : http.createServer(handler);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(server));
  });
}

export function portOf(server: http.Server): number {
  return (server.address() as AddressInfo).port;
}
