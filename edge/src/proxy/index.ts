/** The edge's Proxy RPC: register it on the edge's gRPC server with registerProxy(). */
export { edgeProxyHandler, registerProxy, PROXY_METHOD_PATH, TOKEN_FILE_REFRESH_MS, type ApiServerRef, type EdgeProxyOptions } from "./server.js";
export { allowRequest, DEFAULT_ALLOWED_METHODS, KUBERNETES_PATH_PREFIXES, KUBERNETES_TARGET, REQUEST_HEADER_ALLOWLIST, RESPONSE_HEADER_ALLOWLIST, type HttpTarget } from "./policy.js";
export { DEFAULT_TARGET_PREFIXES, parseHttpTargets } from "./targets.js";
