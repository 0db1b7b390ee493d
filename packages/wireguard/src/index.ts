/** @daalu/wireguard — real WireGuard (kernel or wireguard-go) via wg / UAPI, and key handling. */
export * from "./keys.js";
