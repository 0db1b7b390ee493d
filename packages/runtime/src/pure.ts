/**
 * @daalu/runtime/pure — the runtime's pure helpers (no I/O, no NATS, gRPC,
 * database or logger loaded), for services' domain/ code. The package's main
 * entry exports them too.
 */
export * from "./secret-token.js";
export * from "./ids.js";
export * from "./ipv4.js";
