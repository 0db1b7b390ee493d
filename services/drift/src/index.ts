/** @daalu/drift — the drift service's public API: its typed client and contract types. */
export { driftClient, type DriftClient } from "./client.js";
export { driftv1 } from "@daalu/proto";
