/** @daalu/peering — public API: the typed client and the types callers need. */
export { peeringClient, type PeeringClient } from "./client.js";
export { peeringv1 } from "@daalu/proto";
