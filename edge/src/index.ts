/**
 * @daalu/edge — the edge agent. Public surface for tests, e2e and bench: version,
 * exit codes, the tunnel Secret layout, config loading, bootstrap, the kube
 * access adapter and the edge's gRPC status server. The Proxy RPC is
 * @daalu/edge/proxy.
 */
export { EDGE_VERSION } from "./version.js";
export { ExitCode } from "./errors.js";
export { SECRET_KEYS, type TunnelConfig, type TunnelSecret } from "./domain/tunnel-config.js";
export { DEFAULT_SECRET_NAME, DEFAULT_GRPC_PORT, DEFAULT_WG_INTERFACE, loadConfig, type BootstrapConfig, type RunConfig } from "./config.js";
export { bootstrap } from "./bootstrap.js";
export { KubeAccess } from "./adapters/kube.js";
export { EdgeAgent } from "./agent.js";
export { startStatusServer } from "./adapters/grpc.js";
