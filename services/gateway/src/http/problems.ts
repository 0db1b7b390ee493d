/**
 * How the gateway answers errors, whichever layer refused the request:
 *
 *   - node's HTTP parser (bare CR, NUL, not HTTP at all): `clientErrorHandler`,
 *     a minimal 400 problem+json written on the socket (no route is known yet);
 *   - Fastify's router (`%zz`, over-long params): `frameworkErrors`;
 *   - Fastify's body parsing and validation, authentication, handlers: the
 *     error handlers, through `toDaalu`.
 *
 * Errors under /k8s/ answer as a Kubernetes `Status` (kubectl prints its
 * message); everything else as problem+json (docs/errors.md). Messages never
 * carry internal NATS subjects: `scrubSubjects` is the last line of defence.
 */
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { DaaluError, toProblem } from "@daalu/runtime";
import { BadRequestError, MalformedHttpError } from "../errors.js";

/** Fastify's own errors for what a client sent, as our reasons. */
const FASTIFY_ERRORS: Record<string, { reason: string; status: number; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { reason: "BODY_TOO_LARGE", status: 413, message: "request body is too large" },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { reason: "UNSUPPORTED_MEDIA_TYPE", status: 415, message: "request bodies must be application/json" },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { reason: "INVALID_CONTENT_LENGTH", status: 400, message: "the request body's size does not match its Content-Length" },
  FST_ERR_CTP_EMPTY_JSON_BODY: { reason: "EMPTY_BODY", status: 400, message: "the request body is empty but its content type is application/json" },
  FST_ERR_CTP_INVALID_JSON_BODY: { reason: "INVALID_JSON", status: 400, message: "request body is not valid JSON" },
  FST_ERR_BAD_URL: { reason: "INVALID_URL", status: 400, message: "the URL is not valid (malformed percent-encoding)" },
  FST_ERR_MAX_PARAM_LENGTH: { reason: "URL_TOO_LONG", status: 414, message: "a path segment of the URL is too long" },
};

/** Any error as a DaaluError: ours unchanged, Fastify's client errors by code, the rest INTERNAL. */
export function toDaalu(err: unknown): DaaluError {
  if (err instanceof DaaluError) return err;
  const fe = err as FastifyError | undefined;
  if (fe?.validation) return new BadRequestError(`invalid request: ${fe.message}`, "INVALID_REQUEST");
  if (fe && typeof fe.code === "string") {
    const m = FASTIFY_ERRORS[fe.code];
    if (m) return new BadRequestError(m.message, m.reason, m.status);
  }
  // JSON syntax errors of the default parser surface as SyntaxError with statusCode 400.
  if (err instanceof SyntaxError) return new BadRequestError("request body is not valid JSON", "INVALID_JSON");
  if (fe && typeof fe.statusCode === "number" && fe.statusCode >= 400 && fe.statusCode < 500) return new BadRequestError("the request could not be read", "INVALID_REQUEST", fe.statusCode);
  return DaaluError.from(err);
}

/** NATS subjects (`[prefix.]daalu.<area>.v1.…`, tunnel, event and audit subjects) are internal. */
const SUBJECT = /(?:[\w-]+\.)*daalu\.(?:tunnel|events|audit|[a-z-]+\.v\d+)(?:\.[\w*>-]+)*/g;

/** `message` with any internal subject replaced. */
export function scrubSubjects(message: string): string {
  return message.replace(SUBJECT, "an internal service");
}

/** True for the Kubernetes-compatible endpoint, whose errors are Status objects. */
export function isK8sPath(url: string): boolean {
  return url.startsWith("/k8s/");
}

const K8S_REASON: Record<number, string> = { 400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed", 409: "Conflict", 413: "RequestEntityTooLarge", 414: "RequestURITooLong", 415: "UnsupportedMediaType", 429: "TooManyRequests", 499: "Canceled", 500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout" };

/** A DaaluError as the Kubernetes Status kubectl understands; the Daalu reason is in details.causes[0].reason. */
export function kubeStatus(err: DaaluError): object {
  const message = scrubSubjects(err.message);
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason: K8S_REASON[err.httpStatus] ?? "InternalError",
    details: { causes: [{ reason: err.reason, message }] },
    code: err.httpStatus,
  };
}

/** Sends `err` as problem+json, or as a Kubernetes Status under /k8s/. */
export function sendError(req: FastifyRequest, reply: FastifyReply, err: DaaluError): FastifyReply {
  req.span?.setAttribute("daalu.error.reason", err.reason);
  const path = (req.raw.url ?? req.url).split("?")[0]!;
  reply.code(err.httpStatus).header("daalu-error-reason", err.reason);
  // A cluster moving between hub nodes is served again within a second or two (docs/errors.md).
  if (err.reason === "CLUSTER_MOVING") reply.header("retry-after", "1");
  if (isK8sPath(path)) return reply.type("application/json").send(JSON.stringify(kubeStatus(err)));
  const p = toProblem(err, path, req.span?.spanContext().traceId);
  p.detail = scrubSubjects(p.detail);
  return reply.type("application/problem+json").send(JSON.stringify(p));
}

/** Fastify's `frameworkErrors`: router errors (bad percent-encoding, over-long params) in our format. */
export function frameworkErrors(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  void sendError(req, reply, toDaalu(err));
}

/**
 * The server's `clientError`: bytes node's parser refused (bare CR, NUL, not
 * HTTP), an over-large header block, or a client too slow to send its
 * request. No route is known, so the answer is a minimal problem+json,
 * written whole on the socket, which is then closed.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  const de =
    err.code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? new MalformedHttpError("the request was not received in time", "REQUEST_TIMEOUT", 408)
      : err.code === "HPE_HEADER_OVERFLOW"
        ? new MalformedHttpError("the request's headers are too large", "HEADERS_TOO_LARGE", 431)
        : new MalformedHttpError();
  const body = JSON.stringify(toProblem(de));
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${de.httpStatus} ${STATUS_CODES[de.httpStatus] ?? "Bad Request"}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}
