/** @daalu/drift — the drift service's public API: its typed client, contract types and the drift comparison. */
export { driftClient, type DriftClient } from "./client.js";
export { driftv1 } from "@daalu/proto";
export { compareObject, type CompareOptions, type CompareResult, type JsonPatchOp, type ObjectDriftState } from "./domain/compare/index.js";
