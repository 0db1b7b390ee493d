import { Code, DaaluError } from "@daalu/runtime";

/** No or malformed Authorization header, or an unknown/revoked token. */
export class UnauthenticatedError extends DaaluError {
  override name = "UnauthenticatedError";
  constructor(message = "a valid API token is required (Authorization: Bearer dak1_...)") {
    super(Code.Unauthenticated, message, { reason: "UNAUTHENTICATED" });
  }
}

/** A viewer or operator token tried an admin action. */
export class AdminRequiredError extends DaaluError {
  override name = "AdminRequiredError";
  constructor() {
    super(Code.PermissionDenied, "this action needs an admin token", { reason: "ADMIN_REQUIRED" });
  }
}

/** A viewer token tried an operator action (the kubectl panel). */
export class OperatorRequiredError extends DaaluError {
  override name = "OperatorRequiredError";
  constructor() {
    super(Code.PermissionDenied, "this action needs an operator or admin token", { reason: "OPERATOR_REQUIRED" });
  }
}

/** The HTTP request is malformed (schema, JSON, content type). */
export class BadRequestError extends DaaluError {
  override name = "BadRequestError";
  constructor(message: string, reason = "INVALID_REQUEST", httpStatus = 400) {
    super(Code.InvalidArgument, message, { reason, httpStatus });
  }
}

/** Bytes node's HTTP parser refused, before any route is known (answered on the raw socket). */
export class MalformedHttpError extends DaaluError {
  override name = "MalformedHttpError";
  constructor(message = "the request is not well-formed HTTP/1.1", reason = "MALFORMED_HTTP_REQUEST", httpStatus = 400) {
    super(Code.InvalidArgument, message, { reason, httpStatus });
  }
}

/** The public bootstrap route's per-IP limiter refused the request. */
export class RateLimitedError extends DaaluError {
  override name = "RateLimitedError";
  constructor() {
    super(Code.ResourceExhausted, "too many bootstrap requests from this address; retry shortly", { reason: "RATE_LIMITED", httpStatus: 429 });
  }
}

/** No such route. */
export class RouteNotFoundError extends DaaluError {
  override name = "RouteNotFoundError";
  constructor(method: string, url: string) {
    super(Code.NotFound, `no route ${method} ${url.split("?")[0]}`, { reason: "ROUTE_NOT_FOUND" });
  }
}

/** Admin CLI / programmatic admin input problems. */
export class InvalidTenantError extends DaaluError {
  override name = "InvalidTenantError";
  constructor(message: string) {
    super(Code.InvalidArgument, message, { reason: "INVALID_TENANT" });
  }
}

export class TenantExistsError extends DaaluError {
  override name = "TenantExistsError";
  constructor(id: string) {
    super(Code.AlreadyExists, `tenant ${id} already exists`, { reason: "TENANT_EXISTS" });
  }
}

export class TenantNotFoundError extends DaaluError {
  override name = "TenantNotFoundError";
  constructor(id: string) {
    super(Code.NotFound, `tenant ${id} does not exist`, { reason: "TENANT_NOT_FOUND" });
  }
}

export class TokenNotFoundError extends DaaluError {
  override name = "TokenNotFoundError";
  constructor(id: string) {
    super(Code.NotFound, `API token ${id} does not exist`, { reason: "TOKEN_NOT_FOUND" });
  }
}

/** The live event stream (GET /v1/events) cannot start: the events stream is missing (peering not started) or JetStream is unreachable. */
export class EventsUnavailableError extends DaaluError {
  override name = "EventsUnavailableError";
  constructor(cause: unknown) {
    super(Code.Unavailable, "the live event stream is not available now; try again shortly", { reason: "EVENTS_UNAVAILABLE", cause });
  }
}

/** Too many live event streams open: the tenant's share (or the gateway's) is taken. */
export class TooManyEventStreamsError extends DaaluError {
  override name = "TooManyEventStreamsError";
  constructor(perTenant: boolean, limit: number) {
    super(Code.ResourceExhausted, `${perTenant ? "this tenant has" : "this gateway has"} ${limit} live event streams open already; close a tab or retry later`, { reason: perTenant ? "EVENTS_TENANT_BUSY" : "EVENTS_BUSY", httpStatus: 429 });
  }
}
