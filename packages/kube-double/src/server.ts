/**
 * The HTTP side of the double: routing like kube-apiserver's RequestInfo
 * resolver, authentication, authorization, then dispatch to the read, write,
 * log and TokenRequest handlers over the ObjectStore.
 */
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { apiGroup, apiGroupList, apiResourceList, apiVersions, groupVersion, RESOURCES } from "./resources.js";
import { badRequest, forbidden, KubeStatusError, methodNotSupported, pathNotFound, unauthorized } from "./status.js";
import { parseFieldSelector, parseLabelSelector } from "./selectors.js";
import type { IncludeObject } from "./tables.js";
import { authorize, policyFor } from "./rbac.js";
import type { RequestRecord, ServerState } from "./state.js";
import { parseResourcePath, verbOf } from "./request.js";
import { writeJson, writeRaw, writeStatus } from "./respond.js";
import { createTokenHandlers } from "./tokens.js";
import { createReadHandlers } from "./reads.js";
import { createWriteHandlers } from "./writes.js";
import { createLogHandler } from "./pod-log.js";
import { createReviewHandler, REVIEW_KINDS } from "./reviews.js";
import { handleHealth } from "./health.js";
import { loadOpenApi } from "./openapi.js";
import { STREAM_SUBRESOURCES } from "./streams/upgrade.js";

/** What `/version` answers: kubectl (and the gcloud kubectl dispatcher) pick their behaviour from it. */
export const SERVER_VERSION = {
  major: "1", minor: "32", gitVersion: "v1.32.4", gitCommit: "59526cd4867447956156ae3a602fcbac10a2c335", gitTreeState: "clean",
  buildDate: "2025-04-22T16:02:27Z", goVersion: "go1.23.6", compiler: "gc", platform: "linux/amd64",
} as const;

/** What kubectl asks for OpenAPI v2 first; the double has the JSON form only (see handleOpenApi). */
const OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2";

export function createHandler(state: ServerState, streams: Set<http.ServerResponse>) {
  const { authenticate, handleTokenRequest } = createTokenHandlers(state);
  const { handleGet, handleList, handleWatch } = createReadHandlers(state, streams);
  const { handleCreate, handleUpdate, handlePatch, handleDelete } = createWriteHandlers(state);
  const handleLog = createLogHandler(state, streams);
  const handleReview = createReviewHandler(state);
  const openapi = loadOpenApi([...new Set(RESOURCES.map((r) => groupVersion(r)))]);

  /** GET /openapi/v2 (JSON), /openapi/v3 (the index) and /openapi/v3/<group-version path>; false for any other path. */
  function handleOpenApi(path: string, req: http.IncomingMessage, res: http.ServerResponse): boolean {
    if (path === "/openapi/v2") {
      const accept = String(req.headers.accept ?? "");
      // Only protobuf acceptable: say so, as a server without that encoding would (406), rather than send JSON the client cannot parse.
      if (accept.includes(OPENAPI_V2_PROTOBUF) && !/application\/json|\*\/\*/.test(accept)) {
        writeStatus(res, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: "only application/json is served for /openapi/v2 by kube-double", reason: "NotAcceptable", code: 406 });
      } else writeRaw(res, openapi.v2);
      return true;
    }
    if (path === "/openapi/v3") {
      writeJson(res, 200, openapi.index);
      return true;
    }
    const doc = path.startsWith("/openapi/v3/") ? openapi.v3.get(path.slice("/openapi/v3/".length)) : undefined;
    if (doc === undefined) return false;
    writeRaw(res, doc);
    return true;
  }

  return async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://kube-double");
    const rec: RequestRecord = { method: req.method ?? "GET", path: url.pathname, query: Object.fromEntries(url.searchParams) };
    state.requests.push(rec);
    res.on("finish", () => (rec.status = res.statusCode));
    res.on("close", () => (rec.status ??= res.statusCode));
    try {
      const path = url.pathname.replace(/\/+$/, "") || "/";
      // Open to anyone, signed in or not (system:public-info-viewer).
      if (path === "/version") return writeJson(res, 200, SERVER_VERSION);
      if (handleHealth(path, url.searchParams, res)) return;
      const user = authenticate(req);
      if (!user) throw unauthorized();
      rec.user = user.name;
      // Open to every authenticated user (system:discovery).
      if ((req.method === "GET" || req.method === "HEAD") && handleOpenApi(path, req, res)) return;
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
      if (!authorize(policyFor(state.policy, state.store, user), attrs)) throw forbidden({ ...attrs, user: user.name });
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
      if (REVIEW_KINDS[rr.plural] && r.group === REVIEW_KINDS[rr.plural]!.apiVersion.split("/")[0] && !rr.name) {
        if (verb !== "create") throw methodNotSupported(r, verb);
        return await handleReview(rr.plural, user, req, res);
      }
      // exec, attach and portforward are served on upgraded connections only (see streams/upgrade.ts).
      if (rr.subresource && (STREAM_SUBRESOURCES as readonly string[]).includes(rr.subresource)) throw badRequest("Upgrade request required");
      if (rr.subresource === "log") {
        if (verb !== "get") throw methodNotSupported(r, verb);
        handleLog(rr, q, req, res);
        return;
      }
      switch (verb) {
        case "get": return handleGet(r, rr, res, table, include);
        case "list": return handleList(r, rr, q, res, table, include, label, field);
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
