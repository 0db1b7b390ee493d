/** Writes: create, update, patch, delete and deletecollection, with the API server's validation and dry runs. */
import type http from "node:http";
import { randomBytes } from "node:crypto";
import { groupVersion, RESOURCES, type ResourceInfo } from "./resources.js";
import { alreadyExists, badRequest, conflict, invalid, methodNotSupported, notFound, unsupportedMediaType } from "./status.js";
import type { Matcher } from "./selectors.js";
import type { KubeObject } from "./store.js";
import { jsonPatch, mergePatch } from "./patch.js";
import type { ServerState } from "./state.js";
import { readBody, type ResourceRequest } from "./request.js";
import { listItem, nowTimestamp, writeJson } from "./respond.js";
import { listObjects } from "./reads.js";

const NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function createWriteHandlers(state: ServerState) {
  const { store } = state;

  function ensureNamespace(ns: string): void {
    if (!store.get("namespaces", undefined, ns)) throw notFound({ group: "", plural: "namespaces" }, ns);
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
      const victims = listObjects(store, r, rr.namespace, label, field);
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

  return { handleCreate, handleUpdate, handlePatch, handleDelete };
}
