import { Code, DaaluError } from "@daalu/runtime";

/**
 * The invite service's domain errors. Reasons and HTTP statuses are part of
 * the public bootstrap contract (issue 2): the edge and the UI show them.
 */

/** The token is not in the dfi1_ format (checked before any database work). */
export class TokenMalformedError extends DaaluError {
  override name = "TokenMalformedError";
  constructor() {
    super(Code.InvalidArgument, "the invite token is malformed: expected the dfi1_… token exactly as shown when the invite was created", { reason: "TOKEN_MALFORMED", httpStatus: 400 });
  }
}

/** No invite has this token (unknown selector, or a wrong verifier: indistinguishable on purpose). */
export class TokenUnknownError extends DaaluError {
  override name = "TokenUnknownError";
  constructor() {
    super(Code.NotFound, "the invite token is not known; check that it was copied completely", { reason: "TOKEN_UNKNOWN", httpStatus: 404 });
  }
}

export class TokenExpiredError extends DaaluError {
  override name = "TokenExpiredError";
  constructor(expiresAt: Date) {
    super(Code.FailedPrecondition, `the invite token expired at ${expiresAt.toISOString()}; an admin can regenerate the invite to get a new token`, { reason: "TOKEN_EXPIRED", httpStatus: 410 });
  }
}

export class TokenAlreadyUsedError extends DaaluError {
  override name = "TokenAlreadyUsedError";
  constructor() {
    super(Code.FailedPrecondition, "the invite token was already used by another edge; an admin can create a new invite for the cluster", { reason: "TOKEN_ALREADY_USED", httpStatus: 409 });
  }
}

export class TokenRevokedError extends DaaluError {
  override name = "TokenRevokedError";
  constructor() {
    super(Code.FailedPrecondition, "the invite token was revoked; an admin can regenerate the invite to get a new token", { reason: "TOKEN_REVOKED", httpStatus: 410 });
  }
}

export class InvalidPublicKeyError extends DaaluError {
  override name = "InvalidPublicKeyError";
  constructor() {
    super(Code.InvalidArgument, "the WireGuard public key must be base64 of exactly 32 bytes (44 characters, as `wg pubkey` prints) and not a low-order point", { reason: "INVALID_PUBLIC_KEY", httpStatus: 400 });
  }
}

/** An invite id of the tenant that does not exist (or belongs to another tenant). */
export class InviteNotFoundError extends DaaluError {
  override name = "InviteNotFoundError";
  constructor(id: string) {
    super(Code.NotFound, `invite ${id} not found`, { reason: "INVITE_NOT_FOUND" });
  }
}

export class InvalidInviteIdError extends DaaluError {
  override name = "InvalidInviteIdError";
  constructor(id: string) {
    super(Code.InvalidArgument, `invite id must be a UUID, got "${id.slice(0, 64)}"`, { reason: "INVALID_INVITE_ID" });
  }
}

/** Regenerate or revoke asked for an invite in the wrong state; the message says what to do instead. */
export class InviteStateError extends DaaluError {
  override name = "InviteStateError";
  constructor(reason: "INVITE_NOT_REGENERABLE" | "INVITE_NOT_REVOCABLE", message: string) {
    super(Code.FailedPrecondition, message, { reason });
  }
}

/** CreateInvite needs exactly one of cluster_name (new cluster) and cluster_id (re-enroll). */
export class InvalidCreateRequestError extends DaaluError {
  override name = "InvalidCreateRequestError";
  constructor(message: string) {
    super(Code.InvalidArgument, message, { reason: "INVALID_INVITE_REQUEST" });
  }
}
