import { Code, DaaluError } from "@daalu/runtime";

/**
 * Exit codes of `edge bootstrap`. Distinct per failure so the Job's status
 * (and `kubectl get pod -o jsonpath='{.status.containerStatuses[0].state.terminated.exitCode}'`)
 * tells the operator what happened without reading logs. Documented in edge/README.md.
 */
export const ExitCode = {
  /** Bootstrapped, or the Secret already existed (nothing redeemed). */
  Ok: 0,
  /** Unexpected failure (a bug, or an error we did not classify). */
  Internal: 1,
  /** Invalid EDGE_* configuration. */
  Config: 2,
  /** The hub says the token expired: create a new one with "Add cluster". */
  TokenExpired: 10,
  /** The hub says the token was already used (by another key). */
  TokenAlreadyUsed: 11,
  /** The hub does not know the token (mistyped, truncated, or another hub's). */
  TokenUnknown: 12,
  /** The tenant's tunnel subnet has no free address. */
  SubnetExhausted: 13,
  /** An admin revoked the token. */
  TokenRevoked: 15,
  /** Any other refusal by the hub (4xx, or a bad answer). */
  HubRejected: 14,
  /** The hub could not be reached after EDGE_BOOTSTRAP_ATTEMPTS tries. */
  HubUnreachable: 20,
  /** The hub's TLS certificate is not trusted (set hub.caBundle / EDGE_HUB_CA_FILE). */
  HubUntrusted: 21,
  /** The ServiceAccount may not create/get/update the tunnel Secret or its public ConfigMap. */
  KubeForbidden: 30,
  /** The Kubernetes API failed otherwise (unreachable, 5xx). */
  KubeUnavailable: 31,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Base of the edge's own errors: a DaaluError that also knows its process exit code. */
export class EdgeError extends DaaluError {
  override name = "EdgeError";
  constructor(
    code: Code,
    message: string,
    readonly exitCode: ExitCode,
    opts: { reason?: string; cause?: unknown } = {},
  ) {
    super(code, message, opts);
  }
}

/** The hub refused the bootstrap request (token expired/used/unknown, subnet exhausted, bad request). */
export class BootstrapRejectedError extends EdgeError {
  override name = "BootstrapRejectedError";
  constructor(
    readonly status: number,
    reason: string,
    message: string,
  ) {
    super(Code.FailedPrecondition, message, exitCodeForReason(reason), { reason });
  }
}

/** The hub stayed unreachable (network errors, timeouts, 5xx) through every attempt. */
export class HubUnreachableError extends EdgeError {
  override name = "HubUnreachableError";
  constructor(message: string, cause?: unknown) {
    super(Code.Unavailable, message, ExitCode.HubUnreachable, { reason: "HUB_UNREACHABLE", cause });
  }
}

/** The hub's certificate failed verification; retrying cannot help. */
export class HubUntrustedError extends EdgeError {
  override name = "HubUntrustedError";
  constructor(message: string, cause?: unknown) {
    super(Code.Unavailable, message, ExitCode.HubUntrusted, { reason: "HUB_CERTIFICATE_UNTRUSTED", cause });
  }
}

/** The hub answered 2xx with something that is not a usable tunnel configuration. */
export class BadHubAnswerError extends EdgeError {
  override name = "BadHubAnswerError";
  constructor(message: string) {
    super(Code.Internal, message, ExitCode.HubRejected, { reason: "BAD_HUB_ANSWER" });
  }
}

/** The ServiceAccount lacks the RBAC to handle the tunnel Secret. */
export class SecretForbiddenError extends EdgeError {
  override name = "SecretForbiddenError";
  constructor(message: string, cause?: unknown) {
    super(Code.PermissionDenied, message, ExitCode.KubeForbidden, { reason: "SECRET_FORBIDDEN", cause });
  }
}

/** The ServiceAccount lacks the RBAC to write the public tunnel ConfigMap. */
export class ConfigMapForbiddenError extends EdgeError {
  override name = "ConfigMapForbiddenError";
  constructor(message: string, cause?: unknown) {
    super(Code.PermissionDenied, message, ExitCode.KubeForbidden, { reason: "CONFIGMAP_FORBIDDEN", cause });
  }
}

/** The Kubernetes API failed for another reason. */
export class KubeUnavailableError extends EdgeError {
  override name = "KubeUnavailableError";
  constructor(message: string, cause?: unknown) {
    super(Code.Unavailable, message, ExitCode.KubeUnavailable, { reason: "KUBE_UNAVAILABLE", cause });
  }
}

/** The tunnel Secret exists but cannot be used (missing or malformed fields). */
export class BadTunnelSecretError extends EdgeError {
  override name = "BadTunnelSecretError";
  constructor(message: string) {
    super(Code.FailedPrecondition, message, ExitCode.Internal, { reason: "BAD_TUNNEL_SECRET" });
  }
}

/** The hub's reason → exit code (pure; pinned by errors.test.ts). */
export function exitCodeForReason(reason: string): ExitCode {
  switch (reason) {
    case "TOKEN_EXPIRED":
      return ExitCode.TokenExpired;
    case "TOKEN_ALREADY_USED":
      return ExitCode.TokenAlreadyUsed;
    case "TOKEN_UNKNOWN":
    case "TOKEN_MALFORMED":
      return ExitCode.TokenUnknown;
    case "TOKEN_REVOKED":
      return ExitCode.TokenRevoked;
    case "SUBNET_EXHAUSTED":
      return ExitCode.SubnetExhausted;
    default:
      return ExitCode.HubRejected;
  }
}
