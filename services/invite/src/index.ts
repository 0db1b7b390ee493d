/** @daalu/invite — the invite service's public API: its typed clients and contract types. */
export { inviteClient, inviteGrpcClient, type InviteClient } from "./client.js";
export { invitev1 } from "@daalu/proto";
