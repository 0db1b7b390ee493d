/** @daalu/peering — public API: the typed client and the types callers need. */
export { peeringClient, peeringSender, type PeeringClient, type PeeringSender } from "./client.js";
export { peeringv1 } from "@daalu/proto";
