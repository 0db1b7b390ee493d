/**
 * The peering service's named domain errors. Reasons are stable API: the
 * gateway and the invite service branch on them.
 */
import { Code, DaaluError } from "@daalu/runtime";

export class InvalidClusterNameError extends DaaluError {
  override name = "InvalidClusterNameError";
  constructor(message: string) {
    super(Code.InvalidArgument, message, { reason: "INVALID_CLUSTER_NAME" });
  }
}

export class ClusterNameTakenError extends DaaluError {
  override name = "ClusterNameTakenError";
  constructor(name: string, cause?: unknown) {
    super(Code.AlreadyExists, `a cluster named "${name}" already exists in this tenant`, { reason: "CLUSTER_NAME_TAKEN", cause });
  }
}

/** Also what another tenant's cluster looks like: existence is never revealed. */
export class ClusterNotFoundError extends DaaluError {
  override name = "ClusterNotFoundError";
  constructor(clusterId: string) {
    super(Code.NotFound, `cluster ${clusterId} not found`, { reason: "CLUSTER_NOT_FOUND" });
  }
}

export class InvalidSubnetError extends DaaluError {
  override name = "InvalidSubnetError";
  constructor(message: string, cause?: unknown) {
    super(Code.InvalidArgument, message, { reason: "INVALID_SUBNET", cause });
  }
}

export class SubnetNotSupernetError extends DaaluError {
  override name = "SubnetNotSupernetError";
  constructor(current: string, requested: string) {
    super(
      Code.InvalidArgument,
      `${requested} does not contain the tenant's subnet ${current}; a subnet can only be widened to a block that contains it (e.g. a shorter prefix at the same network address), never shrunk or moved`,
      { reason: "SUBNET_NOT_SUPERNET" },
    );
  }
}

export class SubnetOverlapError extends DaaluError {
  override name = "SubnetOverlapError";
  constructor(requested: string, cause?: unknown) {
    super(Code.AlreadyExists, `${requested} overlaps another tenant's subnet; choose another block`, { reason: "SUBNET_OVERLAP", httpStatus: 409, cause });
  }
}

export class SubnetReservedError extends DaaluError {
  override name = "SubnetReservedError";
  constructor(requested: string, hubPool: string) {
    super(Code.InvalidArgument, `${requested} overlaps the hub address pool ${hubPool}, which is reserved for the hub's own tunnel addresses; choose another block`, { reason: "SUBNET_RESERVED" });
  }
}

/** Tenant subnets come only from the tenant pool, so a tenant can never route a block the hub host uses. */
export class SubnetOutsidePoolError extends DaaluError {
  override name = "SubnetOutsidePoolError";
  constructor(requested: string, pool: string) {
    super(Code.InvalidArgument, `${requested} lies outside the tenant subnet pool ${pool}; choose a block inside it`, { reason: "SUBNET_OUTSIDE_POOL" });
  }
}

export class HubPoolExhaustedError extends DaaluError {
  override name = "HubPoolExhaustedError";
  constructor(hubPool: string) {
    super(Code.ResourceExhausted, `the hub address pool ${hubPool} has no free address for a new tenant; widen PEERING_HUB_POOL`, { reason: "HUB_POOL_EXHAUSTED", httpStatus: 503 });
  }
}

export class SubnetAlreadySetError extends DaaluError {
  override name = "SubnetAlreadySetError";
  constructor(current: string, requested: string) {
    super(Code.FailedPrecondition, `this tenant already has subnet ${current} (requested ${requested}); widen it with SetTenantSubnet instead`, { reason: "SUBNET_ALREADY_SET" });
  }
}

export class SubnetPoolExhaustedError extends DaaluError {
  override name = "SubnetPoolExhaustedError";
  constructor(pool: string, prefix: number) {
    super(Code.ResourceExhausted, `no free /${prefix} left in the subnet pool ${pool}; give this tenant an explicit subnet`, { reason: "SUBNET_POOL_EXHAUSTED", httpStatus: 409 });
  }
}

export class SubnetExhaustedError extends DaaluError {
  override name = "SubnetExhaustedError";
  constructor(cidr: string, capacity: number) {
    super(
      Code.ResourceExhausted,
      `subnet exhausted: all ${capacity} cluster addresses of ${cidr} are in use; delete a cluster or widen the subnet (e.g. to a shorter prefix) with SetTenantSubnet`,
      { reason: "SUBNET_EXHAUSTED", httpStatus: 409 },
    );
  }
}

export class InvalidPublicKeyError extends DaaluError {
  override name = "InvalidPublicKeyError";
  constructor(message = "public key must be a WireGuard key: base64 of exactly 32 bytes, not a low-order point") {
    super(Code.InvalidArgument, message, { reason: "INVALID_PUBLIC_KEY" });
  }
}

export class PublicKeyInUseError extends DaaluError {
  override name = "PublicKeyInUseError";
  constructor(cause?: unknown) {
    super(Code.AlreadyExists, "this public key is already used by another cluster; generate a new key pair", { reason: "PUBLIC_KEY_IN_USE", cause });
  }
}

export class EnrollmentInProgressError extends DaaluError {
  override name = "EnrollmentInProgressError";
  constructor() {
    super(Code.Aborted, "another enrollment of this cluster is in progress; retry in a few seconds", { reason: "ENROLLMENT_IN_PROGRESS" });
  }
}

export class EnrollmentKeyMismatchError extends DaaluError {
  override name = "EnrollmentKeyMismatchError";
  constructor() {
    super(Code.FailedPrecondition, "this enrollment was already made with another public key", { reason: "ENROLLMENT_KEY_MISMATCH" });
  }
}

export class EnrollmentNotPendingError extends DaaluError {
  override name = "EnrollmentNotPendingError";
  constructor(enrollmentId: string) {
    super(Code.FailedPrecondition, `enrollment ${enrollmentId} is not pending (released or superseded)`, { reason: "ENROLLMENT_NOT_PENDING" });
  }
}

/** A start-up error: the hub's stored private key cannot be opened with the configured key-encryption keys. */
export class HubKeyUnreadableError extends DaaluError {
  override name = "HubKeyUnreadableError";
  constructor(message: string, cause?: unknown) {
    super(Code.FailedPrecondition, `hub identity: ${message}`, { reason: "HUB_KEY_UNREADABLE", cause });
  }
}

export class InvalidArgumentError extends DaaluError {
  override name = "InvalidArgumentError";
  constructor(message: string) {
    super(Code.InvalidArgument, message);
  }
}

/** A widening request naming a scope @daalu/rbac does not know, or a malformed custom rule (the module's reason). */
export class RbacScopeError extends DaaluError {
  override name = "RbacScopeError";
  constructor(reason: string, message: string) {
    super(Code.InvalidArgument, message, { reason });
  }
}
