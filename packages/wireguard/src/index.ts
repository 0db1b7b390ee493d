/** @daalu/wireguard — real WireGuard (kernel or wireguard-go) via wg / UAPI, and key handling. */
export * from "./keys.js";
export { guardRoute, openDevice, resolveEndpoint, unguardRoute, type WgDevice, type OpenDeviceOptions, type PeerConfig, type PeerStatus } from "./device.js";
export { uapiSocketPath, UAPI_SOCKET_DIR } from "./uapi.js";
