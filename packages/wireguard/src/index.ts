/** @daalu/wireguard — real WireGuard (kernel or wireguard-go) via wg / UAPI, and key handling. */
export * from "./keys.js";
export { openDevice, resolveEndpoint, type WgDevice, type OpenDeviceOptions, type PeerConfig, type PeerStatus } from "./device.js";
export { conflictingRoutes, guardRoute, unguardRoute, GUARD_METRIC } from "./routes.js";
export { uapiSocketPath, UAPI_SOCKET_DIR } from "./uapi.js";
export { GetParser } from "./get-parser.js";
