import { randomUUID } from "node:crypto";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { invitev1, peeringv1 } from "@daalu/proto";
import type { PeeringClient, PeeringSender } from "@daalu/peering";
import { Code, DaaluError, isUuid, type Failpoints, type Logger } from "@daalu/runtime";
import { isValidPublicKey } from "@daalu/wireguard";
import type { InviteRow, InviteStore } from "./adapters/pg/store.js";
import { helmCommand } from "./domain/helm-command.js";
import { expiryFor, inviteStatus, regenerateRefusal, revokeRefusal, type InviteStatus } from "./domain/invite-state.js";
import { generateToken, parseToken, verifyToken } from "./domain/token.js";
import {
  InvalidCreateRequestError,
  InvalidInviteIdError,
  InvalidPublicKeyError,
  InviteNotFoundError,
  InviteStateError,
  TokenAlreadyUsedError,
  TokenExpiredError,
  TokenMalformedError,
  TokenRevokedError,
  TokenUnknownError,
} from "./errors.js";

/** Failpoints on the redeem saga (DAALU_FAILPOINTS), used by the crash tests. */
export const FAILPOINT_AFTER_RESERVE = "invite.redeem.after-reserve";
export const FAILPOINT_AFTER_BURN = "invite.redeem.after-burn";

export interface InvitesOptions {
  store: InviteStore;
  peering: PeeringClient;
  /** Sends CommitEnrollment without waiting for it (see redeem); only the saga's commit goes this way. */
  peeringSend: Pick<PeeringSender, "commitEnrollment">;
  failpoints: Failpoints;
  logger: Logger;
  ttlMs: number;
  hubUrl: string;
  /** undefined: the hub's own chart repository. */
  chartRef: string | undefined;
  chartVersion: string;
  peeringTimeoutMs: number;
  now?: () => Date;
}

/** An invite with the `status` derived at read time. */
export interface InviteView extends InviteRow {
  status: InviteStatus;
}

/** A new invite and its token: the only time the token exists outside the operator's hands. */
export interface IssuedInvite {
  invite: InviteView;
  token: string;
  helmCommand: string;
}

/** What the edge receives on redemption (the contract's RedeemInviteResponse). */
export type TunnelConfig = MessageInitShape<typeof invitev1.RedeemInviteResponseSchema>;

function requireUuid(id: string): string {
  if (!isUuid(id)) throw new InvalidInviteIdError(id);
  return id.toLowerCase();
}

/**
 * The invite use cases: create / list / revoke / regenerate for operators, and
 * the redeem saga across this service's database and peering.
 */
export class Invites {
  private readonly store: InviteStore;
  private readonly peering: PeeringClient;
  private readonly log: Logger;
  private readonly now: () => Date;

  constructor(private readonly opts: InvitesOptions) {
    this.store = opts.store;
    this.peering = opts.peering;
    this.log = opts.logger;
    this.now = opts.now ?? (() => new Date());
  }

  private view(row: InviteRow): InviteView {
    return { ...row, status: inviteStatus({ expiresAt: row.expires_at, redeemedAt: row.redeemed_at, revokedAt: row.revoked_at }, this.now()) };
  }

  private peeringCall(tenantId: string) {
    return { tenantId, timeoutMs: this.opts.peeringTimeoutMs };
  }

  /**
   * Add cluster (cluster_name: peering creates the row and ensures the tenant's
   * subnet) or re-enroll one (cluster_id: peering confirms it is the tenant's).
   */
  async create(tenantId: string, createdBy: string, req: { clusterName: string; clusterId: string; subnet: string }, signal?: AbortSignal): Promise<IssuedInvite> {
    if (req.clusterName && req.clusterId) throw new InvalidCreateRequestError("set either cluster_name (add a cluster) or cluster_id (re-enroll an existing cluster), not both");
    if (!req.clusterName && !req.clusterId) throw new InvalidCreateRequestError("cluster_name is required (or cluster_id to re-enroll an existing cluster)");
    if (req.clusterId) {
      if (req.subnet) throw new InvalidCreateRequestError("subnet applies only when adding a cluster; a re-enrolled cluster keeps its address");
      const { cluster } = await this.peering.getCluster({ clusterId: req.clusterId }, this.peeringCall(tenantId));
      if (!cluster) throw new DaaluError(Code.Internal, "peering returned no cluster");
      return this.store.transaction((tx) => this.issue(tx, tenantId, cluster.id, cluster.name, createdBy, null), signal);
    }
    const { cluster } = await this.peering.createCluster({ name: req.clusterName, subnet: req.subnet }, this.peeringCall(tenantId));
    if (!cluster) throw new DaaluError(Code.Internal, "peering returned no cluster");
    try {
      return await this.store.transaction((tx) => this.issue(tx, tenantId, cluster.id, cluster.name, createdBy, null), signal);
    } catch (err) {
      // Compensation: without its invite the new cluster row would be an orphan nobody can enroll.
      await this.peering.deleteCluster({ clusterId: cluster.id }, this.peeringCall(tenantId)).catch((e: unknown) => {
        this.log.error({ err: e, clusterId: cluster.id }, "could not delete the cluster of a failed invite");
      });
      throw err;
    }
  }

  /** Inserts a new invite for the cluster, revoking the cluster's older pending ones. */
  private async issue(tx: InviteStore, tenantId: string, clusterId: string, clusterName: string, createdBy: string, regeneratedFrom: string | null): Promise<IssuedInvite> {
    const now = this.now();
    const revoked = await tx.revokePendingForCluster(tenantId, clusterId, now);
    if (revoked.length > 0) this.log.info({ clusterId, revoked }, "revoked older pending invites of the cluster");
    const t = generateToken();
    const row = await tx.insert({
      id: randomUUID(),
      tenantId,
      clusterId,
      clusterName,
      selector: t.selector,
      verifierHash: t.verifierHash,
      createdAt: now,
      expiresAt: expiryFor(now, this.opts.ttlMs),
      createdBy,
      regeneratedFrom,
    });
    return { invite: this.view(row), token: t.token, helmCommand: helmCommand({ chartRef: this.opts.chartRef, chartVersion: this.opts.chartVersion, hubUrl: this.opts.hubUrl, token: t.token }) };
  }

  async list(tenantId: string, clusterId: string, signal?: AbortSignal): Promise<InviteView[]> {
    if (clusterId && !isUuid(clusterId)) return [];
    const rows = await this.store.list(tenantId, clusterId ? clusterId.toLowerCase() : undefined, signal);
    return rows.map((r) => this.view(r));
  }

  async revoke(tenantId: string, inviteId: string, signal?: AbortSignal): Promise<InviteView> {
    const id = requireUuid(inviteId);
    return this.store.transaction(async (tx) => {
      const row = await tx.lockById(id, tenantId);
      if (!row) throw new InviteNotFoundError(inviteId);
      const v = this.view(row);
      const refusal = revokeRefusal(v.status);
      if (refusal) throw new InviteStateError("INVITE_NOT_REVOCABLE", refusal);
      if (v.status === "revoked") return v;
      return this.view(await tx.markRevoked(id, this.now()));
    }, signal);
  }

  /** A fresh invite for the cluster of an expired or revoked one. */
  async regenerate(tenantId: string, createdBy: string, inviteId: string, signal?: AbortSignal): Promise<IssuedInvite> {
    const id = requireUuid(inviteId);
    return this.store.transaction(async (tx) => {
      const row = await tx.lockById(id, tenantId);
      if (!row) throw new InviteNotFoundError(inviteId);
      const refusal = regenerateRefusal(this.view(row).status);
      if (refusal) throw new InviteStateError("INVITE_NOT_REGENERABLE", refusal);
      // The cluster may have been deleted since; do not hand out a token that can never work.
      const { cluster } = await this.peering.getCluster({ clusterId: row.cluster_id }, this.peeringCall(tenantId));
      return this.issue(tx, tenantId, row.cluster_id, cluster?.name ?? row.cluster_name, createdBy, row.id);
    }, signal);
  }

  /**
   * The redeem saga (public: the token names tenant and cluster).
   *
   * 1. Format and key checks, before any database work.
   * 2. Lock the invite row (serialises concurrent redemptions of one token), verify, check state.
   * 3. peering.ReserveEnrollment while holding the lock; failure rolls back (token unburned).
   * 4. Burn the token and commit; if that fails, release the reservation.
   * 5. Send peering.CommitEnrollment one-way and answer without waiting: the
   *    edge's configuration is the reservation's, and the burned token already
   *    decides the enrollment. A commit that is lost or fails is finished by
   *    peering's recovery sweep (it asks GetRedemption), and a new enrollment
   *    of the same cluster that finds this one still pending settles it the
   *    same way first. So the cluster row may show "pending" for a moment
   *    after the edge has its configuration.
   *
   * The same key presented again after success replays 3 and 5 (both idempotent
   * for one enrollment id), for an edge that lost the first response.
   */
  async redeem(token: string, publicKey: string, signal?: AbortSignal): Promise<TunnelConfig> {
    const parsed = parseToken(token);
    if (!parsed) throw new TokenMalformedError();
    if (!isValidPublicKey(publicKey)) throw new InvalidPublicKeyError();

    let reserved: InviteRow | undefined;
    let outcome: { row: InviteRow; reservation: peeringv1.ReserveEnrollmentResponse | undefined };
    try {
      outcome = await this.store.redeemTransaction(parsed.selector, async (row, burn) => {
        if (!verifyToken(parsed.verifier, row?.verifier_hash) || !row) throw new TokenUnknownError();
        const status = this.view(row).status;
        if (status === "redeemed") {
          if (row.redeemed_public_key === publicKey) return { row, reservation: undefined };
          throw new TokenAlreadyUsedError();
        }
        if (status === "revoked") throw new TokenRevokedError();
        if (status === "expired") throw new TokenExpiredError(row.expires_at);
        const reservation = await this.reserve(row, publicKey, true);
        reserved = row;
        this.opts.failpoints.hit(FAILPOINT_AFTER_RESERVE);
        await burn(row.id, publicKey, this.now());
        return { row, reservation };
      }, signal);
    } catch (err) {
      if (reserved) await this.releaseQuietly(reserved);
      throw err;
    }

    const { row } = outcome;
    let reservation = outcome.reservation;
    if (!reservation) {
      this.log.info({ inviteId: row.id, clusterId: row.cluster_id }, "replaying a redemption with the same key");
      reservation = await this.reserve(row, publicKey, false);
    } else {
      this.opts.failpoints.hit(FAILPOINT_AFTER_BURN);
    }
    this.opts.peeringSend.commitEnrollment({ clusterId: row.cluster_id, enrollmentId: row.id }, this.peeringCall(row.tenant_id));
    return {
      tenantId: row.tenant_id,
      clusterId: row.cluster_id,
      clusterName: reservation.clusterName || row.cluster_name,
      tunnelIp: reservation.tunnelIp,
      subnet: reservation.subnet,
      hubTunnelIp: reservation.hubTunnelIp,
      hubPublicKey: reservation.hubPublicKey,
      hubEndpoint: reservation.hubEndpoint,
      keepaliveSeconds: reservation.keepaliveSeconds,
      hubEndpoints: reservation.hubEndpoints,
    };
  }

  /** `releaseOnTimeout`: only for a first redemption, which rolls back; a replay's enrollment is already decided. */
  private async reserve(row: InviteRow, publicKey: string, releaseOnTimeout: boolean): Promise<peeringv1.ReserveEnrollmentResponse> {
    try {
      return await this.peering.reserveEnrollment({ clusterId: row.cluster_id, publicKey, enrollmentId: row.id }, this.peeringCall(row.tenant_id));
    } catch (err) {
      // A timeout may hide a reservation peering did make: drop it now rather than wait for the sweep.
      const code = err instanceof DaaluError ? err.code : undefined;
      if (releaseOnTimeout && (code === Code.DeadlineExceeded || code === Code.Unavailable)) await this.releaseQuietly(row);
      throw err;
    }
  }

  private async releaseQuietly(row: InviteRow): Promise<void> {
    try {
      await this.peering.releaseEnrollment({ clusterId: row.cluster_id, enrollmentId: row.id }, this.peeringCall(row.tenant_id));
    } catch (err) {
      this.log.warn({ err, inviteId: row.id, clusterId: row.cluster_id }, "release enrollment failed; peering recovery will release it");
    }
  }

  /**
   * Peering's recovery sweep asks how an enrollment ended. The row lock makes
   * it wait for an in-flight redemption of the same invite to finish.
   */
  async redemption(inviteId: string, tenantId: string | undefined, signal?: AbortSignal): Promise<{ status: InviteStatus; publicKey: string }> {
    const id = requireUuid(inviteId);
    return this.store.transaction(async (tx) => {
      const row = await tx.lockById(id, tenantId);
      if (!row) throw new InviteNotFoundError(inviteId);
      return { status: this.view(row).status, publicKey: row.redeemed_public_key ?? "" };
    }, signal);
  }
}
