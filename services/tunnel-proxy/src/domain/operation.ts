/**
 * What a proxied call does, in Kubernetes API terms (the audit record's
 * `daalu.audit.v1.Operation`, the generated type itself), and whether its
 * answer is a stream. Pure: no I/O. Mirrors kube-apiserver's RequestInfo
 * resolver closely enough for audit and metering.
 */
import { create } from "@bufbuild/protobuf";
import { auditv1 } from "@daalu/proto";

const TRUE = new Set(["1", "true", "True", "TRUE"]);

function verbFor(method: string, hasName: boolean, watch: boolean): string {
  switch (method.toUpperCase()) {
    case "GET":
    case "HEAD":
      return watch ? "watch" : hasName ? "get" : "list";
    case "POST":
      return "create";
    case "PUT":
      return "update";
    case "PATCH":
      return "patch";
    case "DELETE":
      return hasName ? "delete" : "deletecollection";
    default:
      return method.toLowerCase();
  }
}

/**
 * Parses a proxied call. `target` other than "kubernetes" records the target
 * as the resource and the HTTP method as the verb.
 */
export function parseOperation(target: string, method: string, rawPath: string): auditv1.Operation {
  const q = rawPath.indexOf("?");
  const path = q < 0 ? rawPath : rawPath.slice(0, q);
  const query = new URLSearchParams(q < 0 ? "" : rawPath.slice(q + 1));
  const op = create(auditv1.OperationSchema, { verb: method.toLowerCase(), path });
  if (target !== "kubernetes") {
    op.resource = target;
    return op;
  }
  const segs = path.split("/").filter(Boolean).map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
  let rest: string[];
  if (segs[0] === "api" && segs.length >= 2) rest = segs.slice(2);
  else if (segs[0] === "apis" && segs.length >= 3) {
    op.apiGroup = segs[1]!;
    rest = segs.slice(3);
  } else rest = [];
  // Discovery, /version, /openapi: no resource.
  if (rest.length === 0) {
    op.verb = verbFor(method, true, false);
    return op;
  }
  // Legacy /watch/ prefix.
  let watch = TRUE.has(query.get("watch") ?? "");
  if (rest[0] === "watch") {
    watch = true;
    rest = rest.slice(1);
  }
  if (rest[0] === "namespaces" && rest.length >= 3) {
    op.namespace = rest[1]!;
    rest = rest.slice(2);
  }
  op.resource = rest[0] ?? "";
  op.name = rest[1] ?? "";
  op.subresource = rest[2] ?? "";
  // The namespace object's own name is its namespace, as the API server has it.
  if (op.resource === "namespaces" && op.name && !op.namespace) op.namespace = op.name;
  op.verb = verbFor(method, op.name !== "", watch);
  // A self access review (kubectl auth can-i / whoami) is a POST that asks and stores nothing: audited as
  // the read it is, so a search for writes (create, update, patch, delete) does not list it. The resource
  // and path still say which review it was.
  if (op.verb === "create" && !op.name && !op.namespace && SELF_REVIEWS.has(`${op.resource}.${op.apiGroup}`)) op.verb = "get";
  return op;
}

const SELF_REVIEWS = new Set(["selfsubjectaccessreviews.authorization.k8s.io", "selfsubjectrulesreviews.authorization.k8s.io", "selfsubjectreviews.authentication.k8s.io"]);

/** True when the answer is open-ended: watches and followed logs. */
export function isStreaming(method: string, rawPath: string): boolean {
  if (method.toUpperCase() !== "GET") return false;
  const q = rawPath.indexOf("?");
  const path = q < 0 ? rawPath : rawPath.slice(0, q);
  const query = new URLSearchParams(q < 0 ? "" : rawPath.slice(q + 1));
  if (TRUE.has(query.get("watch") ?? "") || /\/watch\//.test(path)) return true;
  return path.endsWith("/log") && TRUE.has(query.get("follow") ?? "");
}
