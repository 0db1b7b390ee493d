/** Reads: get, list (plain JSON or Table) and watch with resourceVersion resume. */
import type http from "node:http";
import { groupVersion, type ResourceInfo } from "./resources.js";
import { notFound, pathNotFound, type StatusBody } from "./status.js";
import type { Matcher } from "./selectors.js";
import { toTable, type IncludeObject } from "./tables.js";
import type { KubeObject, ObjectStore, StoreEvent } from "./store.js";
import type { ServerState } from "./state.js";
import type { ResourceRequest } from "./request.js";
import { listItem, writeJson } from "./respond.js";
import { pageOf } from "./paging.js";

export function listObjects(store: ObjectStore, r: ResourceInfo, namespace: string | undefined, label: Matcher, field: Matcher): KubeObject[] {
  // Read-only: callers serialize or delete these, never change them.
  return store.list(r, r.namespaced ? namespace : undefined, true).filter((o) => label(o) && field(o));
}

export function createReadHandlers(state: ServerState, streams: Set<http.ServerResponse>) {
  const { store } = state;

  function handleGet(r: ResourceInfo, rr: ResourceRequest, res: http.ServerResponse, table: boolean, include: IncludeObject): void {
    const o = store.get(r, rr.namespace, rr.name!);
    if (!o) throw notFound(r, rr.name!);
    if (rr.subresource === "status" || !rr.subresource) {
      writeJson(res, 200, table ? toTable(r.kind, [o], { resourceVersion: o.metadata["resourceVersion"], includeObject: include }) : o);
      return;
    }
    throw pathNotFound();
  }

  function handleList(r: ResourceInfo, rr: ResourceRequest, q: URLSearchParams, res: http.ServerResponse, table: boolean, include: IncludeObject, label: Matcher, field: Matcher): void {
    const all = listObjects(store, r, rr.namespace, label, field);
    const selected = q.has("labelSelector") || q.has("fieldSelector");
    const page = pageOf(all, q.get("limit"), q.get("continue"), store.resourceVersion, selected);
    const rv = page.resourceVersion;
    const paging = { ...(page.continueToken ? { continue: page.continueToken } : {}), ...(page.remainingItemCount !== undefined ? { remainingItemCount: page.remainingItemCount } : {}) };
    if (table) {
      const t = toTable(r.kind, page.items, { resourceVersion: rv, includeObject: include }) as { metadata: object };
      writeJson(res, 200, { ...t, metadata: { ...t.metadata, ...paging } });
    } else writeJson(res, 200, { kind: `${r.kind}List`, apiVersion: groupVersion(r), metadata: { resourceVersion: rv, ...paging }, items: page.items.map(listItem) });
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
      for (const o of listObjects(store, r, rr.namespace, label, field)) if (matches(o)) res.write(encode("ADDED", o));
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

  return { handleGet, handleList, handleWatch };
}
