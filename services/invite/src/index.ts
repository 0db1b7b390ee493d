/** @daalu/invite — the invite service's public API: its typed clients and contract types. */
export { inviteClient, inviteGrpcClient, type InviteClient } from "./client.js";
export { invitev1 } from "@daalu/proto";
export { helmUpgradeCommand, isShellSafe } from "./domain/helm-command.js";
export { DEFAULT_INVITE_CHART_VERSION, DEFAULT_INVITE_HUB_URL } from "./config.js";
