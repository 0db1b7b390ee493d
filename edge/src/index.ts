/** @daalu/edge — the edge agent. Public surface: version, exit codes and the tunnel Secret layout (for tests and tooling). */
export { EDGE_VERSION } from "./version.js";
export { ExitCode } from "./errors.js";
export { SECRET_KEYS, type TunnelConfig, type TunnelSecret } from "./domain/tunnel-config.js";
export { DEFAULT_SECRET_NAME, DEFAULT_GRPC_PORT, DEFAULT_WG_INTERFACE } from "./config.js";
