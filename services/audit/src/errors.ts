import { Code, DaaluError } from "@daalu/runtime";

/** The audit service's domain errors. */

/** A query or usage request is malformed (bad filter, range or cursor). */
export class InvalidQueryError extends DaaluError {
  override name = "InvalidQueryError";
  constructor(problem: string) {
    super(Code.InvalidArgument, problem, { reason: "INVALID_AUDIT_QUERY" });
  }
}

/** The page token was not made by this service (or was altered). */
export class InvalidPageTokenError extends DaaluError {
  override name = "InvalidPageTokenError";
  constructor() {
    super(Code.InvalidArgument, "page_token is not a token returned by QueryCalls", { reason: "INVALID_PAGE_TOKEN" });
  }
}

/**
 * JetStream did not accept a call record (no PubAck in time). The tunnel-proxy
 * must not answer a call whose record was not accepted, so this reaches the caller.
 */
export class AuditUnavailableError extends DaaluError {
  override name = "AuditUnavailableError";
  constructor(cause: unknown) {
    super(Code.Unavailable, "the audit log is unavailable; the call was not made", { reason: "AUDIT_UNAVAILABLE", cause });
  }
}

/** A record handed to the publisher is not valid (a bug in the caller, never retried). */
export class InvalidCallRecordError extends DaaluError {
  override name = "InvalidCallRecordError";
  constructor(problem: string) {
    super(Code.InvalidArgument, `invalid call record: ${problem}`, { reason: "INVALID_CALL_RECORD" });
  }
}
