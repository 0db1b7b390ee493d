/** The hub's WireGuard node (wired by peering's service when PEERING_WG=on). */
export { HubNode } from "./hub-node.js";
export * from "./config.js";
