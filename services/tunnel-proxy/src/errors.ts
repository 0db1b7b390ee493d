import { Code, DaaluError } from "@daalu/runtime";

/** The tunnel-proxy's domain errors. */

/** The cluster exists but has no tunnel yet (not enrolled). */
export class ClusterNotConnectedError extends DaaluError {
  override name = "ClusterNotConnectedError";
  constructor(clusterId: string, message = `cluster ${clusterId} has no tunnel yet (not enrolled)`) {
    super(Code.Unavailable, message, { reason: "CLUSTER_NOT_CONNECTED" });
  }
}

/** Enrolled, but the hub knows the tunnel is down (no handshake yet, or none for too long). */
export class TunnelNotConnectedError extends DaaluError {
  override name = "TunnelNotConnectedError";
  constructor(message: string) {
    super(Code.Unavailable, message, { reason: "TUNNEL_NOT_CONNECTED" });
  }
}

/** The edge could not be reached through the tunnel. */
export class EdgeUnavailableError extends DaaluError {
  override name = "EdgeUnavailableError";
  constructor(clusterId: string, detail: string, cause?: unknown) {
    super(Code.Unavailable, `the edge of cluster ${clusterId} is unreachable: ${detail}`, { reason: "EDGE_UNAVAILABLE", cause });
  }
}

/** The request's tenant header contradicts the subject's tenant. */
export class TenantMismatchError extends DaaluError {
  override name = "TenantMismatchError";
  constructor() {
    super(Code.PermissionDenied, "the call's tenant does not match the tunnel subject", { reason: "TENANT_MISMATCH" });
  }
}

/** The request message is not a ProxyRequest. */
export class InvalidProxyRequestError extends DaaluError {
  override name = "InvalidProxyRequestError";
  constructor(problem: string) {
    super(Code.InvalidArgument, `invalid proxy request: ${problem}`, { reason: "INVALID_PROXY_REQUEST" });
  }
}

/** A concurrent session limit (per tenant or per cluster) is full. */
export class SessionLimitError extends DaaluError {
  override name = "SessionLimitError";
  constructor(scope: "tenant" | "cluster", limit: number) {
    super(Code.ResourceExhausted, `too many open sessions for this ${scope} (at most ${limit} at once); close one and retry`, { reason: scope === "tenant" ? "SESSION_LIMIT_TENANT" : "SESSION_LIMIT_CLUSTER", httpStatus: 429 });
  }
}

/** The edge refused the session outright (not an API server answer). */
export class SessionRefusedError extends DaaluError {
  override name = "SessionRefusedError";
  constructor(detail: string) {
    super(Code.PermissionDenied, `the edge refused the session: ${detail}`, { reason: "SESSION_REFUSED" });
  }
}
