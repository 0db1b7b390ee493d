/**
 * One error type for the whole hub, with the gRPC code list (as connect-es does)
 * plus a stable domain `reason` (e.g. "TOKEN_EXPIRED"). Services subclass it in
 * their own `errors.ts`; adapters map it the same way to gRPC status, NATS error
 * headers and HTTP `application/problem+json`.
 */

/** gRPC status codes, by name. The numeric values are gRPC's. */
export enum Code {
  Canceled = 1,
  Unknown = 2,
  InvalidArgument = 3,
  DeadlineExceeded = 4,
  NotFound = 5,
  AlreadyExists = 6,
  PermissionDenied = 7,
  ResourceExhausted = 8,
  FailedPrecondition = 9,
  Aborted = 10,
  OutOfRange = 11,
  Unimplemented = 12,
  Internal = 13,
  Unavailable = 14,
  DataLoss = 15,
  Unauthenticated = 16,
}

const HTTP_BY_CODE: Record<Code, number> = {
  [Code.Canceled]: 499,
  [Code.Unknown]: 500,
  [Code.InvalidArgument]: 400,
  [Code.DeadlineExceeded]: 504,
  [Code.NotFound]: 404,
  [Code.AlreadyExists]: 409,
  [Code.PermissionDenied]: 403,
  [Code.ResourceExhausted]: 429,
  [Code.FailedPrecondition]: 409,
  [Code.Aborted]: 409,
  [Code.OutOfRange]: 400,
  [Code.Unimplemented]: 501,
  [Code.Internal]: 500,
  [Code.Unavailable]: 503,
  [Code.DataLoss]: 500,
  [Code.Unauthenticated]: 401,
};

/** Default domain reason for a bare code, so every error on the wire has one. */
const REASON_BY_CODE: Record<Code, string> = {
  [Code.Canceled]: "CANCELED",
  [Code.Unknown]: "UNKNOWN",
  [Code.InvalidArgument]: "INVALID_ARGUMENT",
  [Code.DeadlineExceeded]: "DEADLINE_EXCEEDED",
  [Code.NotFound]: "NOT_FOUND",
  [Code.AlreadyExists]: "ALREADY_EXISTS",
  [Code.PermissionDenied]: "PERMISSION_DENIED",
  [Code.ResourceExhausted]: "RESOURCE_EXHAUSTED",
  [Code.FailedPrecondition]: "FAILED_PRECONDITION",
  [Code.Aborted]: "ABORTED",
  [Code.OutOfRange]: "OUT_OF_RANGE",
  [Code.Unimplemented]: "UNIMPLEMENTED",
  [Code.Internal]: "INTERNAL",
  [Code.Unavailable]: "UNAVAILABLE",
  [Code.DataLoss]: "DATA_LOSS",
  [Code.Unauthenticated]: "UNAUTHENTICATED",
};

export interface DaaluErrorOptions {
  /** Stable domain reason, SCREAMING_SNAKE_CASE, e.g. "TOKEN_EXPIRED". Defaults from the code. */
  reason?: string;
  /** HTTP status when the code's default does not fit (e.g. 410 for an expired token). */
  httpStatus?: number;
  /** The original error; kept for logs, never sent on the wire. */
  cause?: unknown;
}

/** The one error class. `message` is safe to show to the caller. */
export class DaaluError extends Error {
  override name = "DaaluError";
  readonly code: Code;
  readonly reason: string;
  readonly httpStatus: number;

  constructor(code: Code, message: string, opts: DaaluErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.reason = opts.reason ?? REASON_BY_CODE[code];
    this.httpStatus = opts.httpStatus ?? HTTP_BY_CODE[code];
  }

  /**
   * Turns anything thrown into a DaaluError. Unknown errors become Internal
   * without leaking their message; connection failures become Unavailable.
   */
  static from(err: unknown): DaaluError {
    if (err instanceof DaaluError) return err;
    if (isConnectionError(err)) {
      return new DaaluError(Code.Unavailable, "a dependency is unavailable", { cause: err });
    }
    return new DaaluError(Code.Internal, "internal error", { cause: err });
  }
}

function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" && ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "57P01", "57P03", "08006", "08001", "08003"].includes(code)) {
    return true;
  }
  return ["NoRespondersError", "TimeoutError", "ClosedConnectionError", "ConnectionError", "DrainingConnectionError"].includes(err.name);
}

/** Wire form shared by NATS headers and problem+json. */
export interface WireError {
  code: Code;
  reason: string;
  message: string;
  httpStatus: number;
}

export function toWire(err: DaaluError): WireError {
  return { code: err.code, reason: err.reason, message: err.message, httpStatus: err.httpStatus };
}

export function fromWire(w: Partial<WireError>): DaaluError {
  const code = w.code !== undefined && Code[w.code] !== undefined ? w.code : Code.Unknown;
  return new DaaluError(code, w.message ?? "unknown error", {
    reason: w.reason ?? REASON_BY_CODE[code],
    httpStatus: w.httpStatus ?? HTTP_BY_CODE[code],
  });
}

/** RFC 9457 problem details. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  reason: string;
  instance?: string;
  traceId?: string;
}

/** Maps an error to `application/problem+json`. */
export function toProblem(err: DaaluError, instance?: string, traceId?: string): Problem {
  const p: Problem = {
    type: `https://daalu.dev/problems/${err.reason.toLowerCase().replaceAll("_", "-")}`,
    title: err.reason,
    status: err.httpStatus,
    detail: err.message,
    code: Code[err.code],
    reason: err.reason,
  };
  if (instance !== undefined) p.instance = instance;
  if (traceId !== undefined) p.traceId = traceId;
  return p;
}

/** gRPC status codes are ours verbatim; this keeps the mapping explicit. */
export function toGrpcStatus(code: Code): number {
  return code;
}

export function codeFromGrpcStatus(status: number): Code {
  return Code[status] === undefined || status === 0 ? Code.Unknown : (status as Code);
}
