/** @daalu/runtime — shared plumbing for every service. No business logic. */
export * from "./errors.js";
export * from "./config.js";
export * from "./logger.js";
export * from "./context.js";
export * from "./tracing.js";
export * from "./nats.js";
export * from "./error-headers.js";
export * from "./grpc.js";
export * from "./db.js";
export * from "./lifecycle.js";
export * from "./run-service.js";
export * from "./spawn.js";
export * from "./failpoint.js";
export type * from "./rpc-types.js";
export { TtlCache } from "./ttl-cache.js";
export * from "./pure.js";
