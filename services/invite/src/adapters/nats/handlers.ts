import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { invitev1 } from "@daalu/proto";
import { formatCaller, requireTenant, type MethodsOf, type ServiceImpl } from "@daalu/runtime";
import type { InviteStatus } from "../../domain/invite-state.js";
import type { InviteView, Invites, IssuedInvite } from "../../invites.js";
import { countRedemption } from "../metrics.js";

export type InviteMethods = MethodsOf<typeof invitev1.InviteService>;

const STATE: Record<InviteStatus, invitev1.InviteState> = {
  pending: invitev1.InviteState.PENDING,
  redeemed: invitev1.InviteState.REDEEMED,
  expired: invitev1.InviteState.EXPIRED,
  revoked: invitev1.InviteState.REVOKED,
};

/** The operator's view of an invite: never the token, never its hash. */
function toInvite(v: InviteView) {
  return {
    id: v.id,
    clusterId: v.cluster_id,
    clusterName: v.cluster_name,
    state: STATE[v.status],
    createdAt: timestampFromDate(v.created_at),
    expiresAt: timestampFromDate(v.expires_at),
    ...(v.redeemed_at ? { redeemedAt: timestampFromDate(v.redeemed_at) } : {}),
    ...(v.revoked_at ? { revokedAt: timestampFromDate(v.revoked_at) } : {}),
    createdBy: v.created_by,
  };
}

function issued(i: IssuedInvite) {
  return { invite: toInvite(i.invite), token: i.token, helmCommand: i.helmCommand };
}

/**
 * Decode -> use case -> encode, shared by the NATS and gRPC adapters.
 * Operator methods require a tenant; RedeemInvite is public and GetRedemption internal.
 */
export function inviteHandlers(invites: Invites): ServiceImpl<InviteMethods> {
  return {
    async createInvite(req, ctx) {
      return issued(await invites.create(requireTenant(ctx), formatCaller(ctx.caller), req, ctx.signal));
    },
    async listInvites(req, ctx) {
      return { invites: (await invites.list(requireTenant(ctx), req.clusterId, ctx.signal)).map(toInvite) };
    },
    async revokeInvite(req, ctx) {
      return { invite: toInvite(await invites.revoke(requireTenant(ctx), req.inviteId, ctx.signal)) };
    },
    async regenerateInvite(req, ctx) {
      return issued(await invites.regenerate(requireTenant(ctx), formatCaller(ctx.caller), req.inviteId, ctx.signal));
    },
    async redeemInvite(req, ctx) {
      return countRedemption(() => invites.redeem(req.token, req.publicKey, ctx.signal));
    },
    async getRedemption(req, ctx) {
      const r = await invites.redemption(req.inviteId, ctx.tenantId || undefined, ctx.signal);
      return { state: STATE[r.status], publicKey: r.publicKey };
    },
  };
}
