/**
 * The HTTP side of the double: routing like kube-apiserver's RequestInfo
 * resolver, authentication, authorization, then dispatch to the read, write,
 * log and TokenRequest handlers over the ObjectStore.
 */
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { apiGroup, apiGroupList, apiResourceList, apiVersions } from "./resources.js";
import { forbidden, KubeStatusError, methodNotSupported, pathNotFound, unauthorized } from "./status.js";
import { parseFieldSelector, parseLabelSelector } from "./selectors.js";
import type { IncludeObject } from "./tables.js";
import { authorize } from "./rbac.js";
import type { RequestRecord, ServerState } from "./state.js";
import { parseResourcePath, verbOf } from "./request.js";
import { writeJson, writeStatus } from "./respond.js";
import { createTokenHandlers } from "./tokens.js";
import { createReadHandlers } from "./reads.js";
import { createWriteHandlers } from "./writes.js";
import { createLogHandler } from "./pod-log.js";

/** What `/version` answers: kubectl (and the gcloud kubectl dispatcher) pick their behaviour from it. */
export const SERVER_VERSION = {
  major: "1", minor: "32", gitVersion: "v1.32.4", gitCommit: "59526cd4867447956156ae3a602fcbac10a2c335", gitTreeState: "clean",
  buildDate: "2025-04-22T16:02:27Z", goVersion: "go1.23.6", compiler: "gc", platform: "linux/amd64",
} as const;

const PUBLIC_PATHS = new Set(["/version", "/healthz", "/livez", "/readyz"]);

export function createHandler(state: ServerState, streams: Set<http.ServerResponse>) {
  const { authenticate, handleTokenRequest } = createTokenHandlers(state);
  const { handleGet, handleList, handleWatch } = createReadHandlers(state, streams);
  const { handleCreate, handleUpdate, handlePatch, handleDelete } = createWriteHandlers(state);
  const handleLog = createLogHandler(state, streams);

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
