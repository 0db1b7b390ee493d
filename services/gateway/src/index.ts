/** @daalu/gateway — public API: in-process start, config and tenant/token administration. */
export { start, type RunningGateway } from "./service.js";
export { loadConfig, type GatewayConfig } from "./config.js";
export { openGatewayStore, createTenant, ensureTenant, createApiToken, revokeApiToken, ensureUser, type CreatedApiToken } from "./admin.js";
export type { GatewayStore } from "./adapters/pg/store.js";
