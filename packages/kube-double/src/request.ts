/** Reading a request: its path as kube-apiserver's RequestInfo resolver sees it, its verb, its JSON body. */
import type http from "node:http";
import { findResource, type ResourceInfo } from "./resources.js";
import { badRequest, KubeStatusError } from "./status.js";
import { decodeProtobuf, PROTOBUF_CONTENT_TYPE } from "./protobuf.js";

const MAX_BODY = 3 * 1024 * 1024;

export interface ResourceRequest {
  r: ResourceInfo | undefined;
  group: string;
  version: string;
  plural: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

export function parseResourcePath(segs: string[]): ResourceRequest | "discovery" | undefined {
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

export function verbOf(method: string, rr: ResourceRequest, watch: boolean): string {
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

export async function readBody(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > MAX_BODY) throw new KubeStatusError({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: "Request entity too large: limit is 3145728", reason: "RequestEntityTooLarge", code: 413 });
    chunks.push(c as Buffer);
  }
  const buf = Buffer.concat(chunks);
  if (String(req.headers["content-type"] ?? "").startsWith(PROTOBUF_CONTENT_TYPE)) return decodeProtobuf(buf);
  const text = buf.toString("utf8");
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest(`the server rejected our request due to an error in our request: json: cannot unmarshal body (${text.length} bytes)`);
  }
}
