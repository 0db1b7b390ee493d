/**
 * `metav1.Status` failures written the way k8s.io/apimachinery's
 * `errors.NewNotFound`, `NewForbidden`, … write them, so kubectl prints its
 * usual `Error from server (Reason): message`.
 */
import { qualifiedName, type ResourceInfo } from "./resources.js";

export interface StatusBody {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Failure" | "Success";
  message?: string;
  reason?: string;
  details?: { name?: string; group?: string; kind?: string; uid?: string; causes?: { reason?: string; message: string; field?: string }[] };
  code: number;
}

/** A Status carried as an exception through the request handler. */
export class KubeStatusError extends Error {
  constructor(readonly status: StatusBody) {
    super(status.message ?? status.reason ?? "error");
    this.name = "KubeStatusError";
  }
  get code(): number {
    return this.status.code;
  }
}

function failure(code: number, reason: string, message: string, details?: StatusBody["details"]): KubeStatusError {
  return new KubeStatusError({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, ...(details ? { details } : {}), code });
}

function detailsOf(r: Pick<ResourceInfo, "group" | "plural">, name?: string): NonNullable<StatusBody["details"]> {
  return { ...(name ? { name } : {}), ...(r.group ? { group: r.group } : {}), kind: r.plural };
}

export const notFound = (r: Pick<ResourceInfo, "group" | "plural">, name: string) =>
  failure(404, "NotFound", `${qualifiedName(r)} "${name}" not found`, detailsOf(r, name));

export const alreadyExists = (r: Pick<ResourceInfo, "group" | "plural">, name: string) =>
  failure(409, "AlreadyExists", `${qualifiedName(r)} "${name}" already exists`, detailsOf(r, name));

export const conflict = (r: Pick<ResourceInfo, "group" | "plural">, name: string) =>
  failure(409, "Conflict", `Operation cannot be fulfilled on ${qualifiedName(r)} "${name}": the object has been modified; please apply your changes to the latest version and try again`, detailsOf(r, name));

export const badRequest = (message: string) => failure(400, "BadRequest", message);

export const invalid = (r: Pick<ResourceInfo, "group" | "kind" | "plural">, name: string, field: string, message: string) =>
  failure(422, "Invalid", `${r.kind} "${name}" is invalid: ${field}: ${message}`, { name, ...(r.group ? { group: r.group } : {}), kind: r.kind, causes: [{ reason: "FieldValueInvalid", message, field }] });

export const methodNotSupported = (r: Pick<ResourceInfo, "group" | "plural">, verb: string) =>
  failure(405, "MethodNotAllowed", `${verb} is not supported on resources of kind "${qualifiedName(r)}"`, detailsOf(r));

export const unsupportedMediaType = (type: string) => failure(415, "UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json; got ${type}`);

export const unauthorized = () => failure(401, "Unauthorized", "Unauthorized");

/** The 404 a real server sends for a path it has no handler for. */
export const pathNotFound = () => failure(404, "NotFound", "the server could not find the requested resource", {});

/** What `ForbiddenStatusError` writes for a resource request. */
export function forbidden(a: { user: string; verb: string; group: string; plural: string; subresource?: string; namespace?: string; name?: string }): KubeStatusError {
  const resource = a.subresource ? `${a.plural}/${a.subresource}` : a.plural;
  const where = a.namespace ? `in the namespace "${a.namespace}"` : "at the cluster scope";
  const why = `User "${a.user}" cannot ${a.verb} resource "${resource}" in API group "${a.group}" ${where}`;
  const q = qualifiedName({ group: a.group, plural: a.plural });
  const message = a.name ? `${q} "${a.name}" is forbidden: ${why}` : `${q} is forbidden: ${why}`;
  return failure(403, "Forbidden", message, detailsOf({ group: a.group, plural: a.plural }, a.name));
}
