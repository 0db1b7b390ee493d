/**
 * @daalu/edge/proxy — the edge's Proxy and ProxyMux RPCs: register both on a
 * gRPC server with registerProxy() (the edge's own server, or a test/bench
 * harness's).
 */
export { registerProxy, type ApiServerRef, type EdgeProxyOptions } from "./server.js";
export { type HttpTarget } from "./policy.js";
export { parseHttpTargets } from "./targets.js";
export { registerSession } from "./session.js";
