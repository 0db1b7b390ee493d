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

/** Sign-in with a wrong password, an unknown user, or a user who may not sign in with a password: one answer for all. */
export class InvalidCredentialsError extends DaaluError {
  override name = "InvalidCredentialsError";
  constructor() {
    super(Code.Unauthenticated, "the tenant, username or password is wrong", { reason: "INVALID_CREDENTIALS" });
  }
}

/** Too many failed sign-ins for this username or from this address. */
export class TooManyAttemptsError extends DaaluError {
  override name = "TooManyAttemptsError";
  constructor() {
    super(Code.ResourceExhausted, "too many failed sign-in attempts; wait a minute and try again", { reason: "TOO_MANY_ATTEMPTS", httpStatus: 429 });
  }
}

/** A session-cookie request that changes something without the session's X-CSRF-Token. */
export class CsrfTokenInvalidError extends DaaluError {
  override name = "CsrfTokenInvalidError";
  constructor() {
    super(Code.PermissionDenied, "this request needs the session's X-CSRF-Token header", { reason: "CSRF_TOKEN_INVALID" });
  }
}

/** The session cookie names a session that expired, idled out or was signed out. */
export class SessionExpiredError extends DaaluError {
  override name = "SessionExpiredError";
  constructor() {
    super(Code.Unauthenticated, "the session has ended; sign in again", { reason: "SESSION_EXPIRED" });
  }
}

/** An OIDC login whose groups map to no role (GATEWAY_OIDC_ROLE_MAP). */
export class NoRoleForGroupsError extends DaaluError {
  override name = "NoRoleForGroupsError";
  constructor() {
    super(Code.PermissionDenied, "none of your groups grants a role here; ask an administrator", { reason: "NO_ROLE_FOR_GROUPS" });
  }
}

/** The CLI's browser login named a redirect that is not http://127.0.0.1:PORT or http://localhost:PORT. */
export class InvalidRedirectUriError extends DaaluError {
  override name = "InvalidRedirectUriError";
  constructor() {
    super(Code.InvalidArgument, "redirect_uri must be http://127.0.0.1:<port>/... or http://localhost:<port>/...", { reason: "INVALID_REDIRECT_URI" });
  }
}

/** A CLI login code that is unknown, used, expired, or whose PKCE verifier does not match. */
export class InvalidGrantError extends DaaluError {
  override name = "InvalidGrantError";
  constructor(message = "the code is unknown, expired or already used, or the code verifier does not match") {
    super(Code.InvalidArgument, message, { reason: "INVALID_GRANT" });
  }
}

/** OIDC single sign-on is not configured on this gateway. */
export class OidcNotConfiguredError extends DaaluError {
  override name = "OidcNotConfiguredError";
  constructor() {
    super(Code.NotFound, "single sign-on is not configured", { reason: "OIDC_NOT_CONFIGURED" });
  }
}

/** The identity provider's answer could not be used (state, code, token or claims). */
export class OidcLoginFailedError extends DaaluError {
  override name = "OidcLoginFailedError";
  constructor(message: string, cause?: unknown) {
    super(Code.Unauthenticated, message, { reason: "OIDC_LOGIN_FAILED", cause });
  }
}

/** The user exists but is disabled. */
export class UserDisabledError extends DaaluError {
  override name = "UserDisabledError";
  constructor() {
    super(Code.PermissionDenied, "this user is disabled", { reason: "USER_DISABLED" });
  }
}

/** Another user of the tenant already has this username. */
export class UsernameTakenError extends DaaluError {
  override name = "UsernameTakenError";
  constructor(username: string) {
    super(Code.AlreadyExists, `username ${username} is taken in this tenant`, { reason: "USERNAME_TAKEN" });
  }
}

export class UserNotFoundError extends DaaluError {
  override name = "UserNotFoundError";
  constructor(tenantId: string, username: string) {
    super(Code.NotFound, `tenant ${tenantId} has no user ${username}`, { reason: "USER_NOT_FOUND" });
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

/**
 * A cluster's Kubernetes API path asked for on the gateway's root (`/readyz`,
 * `/version`, `/api`…) instead of under `/k8s/clusters/<id>`: what kubectl
 * before 1.34 sends for `get --raw` (it drops the kubeconfig server's path).
 */
export class ClusterPathMissingError extends DaaluError {
  override name = "ClusterPathMissingError";
  constructor(path: string) {
    super(
      Code.NotFound,
      `${path} on the Daalu hub is not a cluster's: the request lost the cluster path /k8s/clusters/<cluster id> of your kubeconfig's server ` +
        "(kubectl before 1.34 drops it on `kubectl get --raw`), so no cluster was asked and nothing here says whether one is healthy. " +
        `Use kubectl 1.34 or later, or give the full server path: kubectl get --raw /k8s/clusters/<cluster id>${path}`,
      { reason: "CLUSTER_PATH_MISSING" },
    );
  }
}

/** An Assistant caller asked for an exec/attach/port-forward session in a tenant that does not allow it. */
export class AssistantSessionsDisabledError extends DaaluError {
  override name = "AssistantSessionsDisabledError";
  constructor() {
    super(Code.PermissionDenied, "the Assistant may not open exec, attach or port-forward sessions in this tenant (GATEWAY_SESSIONS_ASSISTANT_TENANTS)", { reason: "ASSISTANT_SESSIONS_DISABLED" });
  }
}
