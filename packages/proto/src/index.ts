/**
 * @daalu/proto — the generated contracts (written by `buf generate`, never edited).
 * Every message that crosses a process boundary comes from here.
 */
export * from "./gen/daalu/common/v1/common_pb.js";
export * as invitev1 from "./gen/daalu/invite/v1/invite_pb.js";
export * as peeringv1 from "./peering-v1.js";
export * as edgev1 from "./edge-v1.js";
export * as auditv1 from "./gen/daalu/audit/v1/audit_pb.js";
export * as queryv1 from "./gen/daalu/query/v1/query_pb.js";
export * as driftv1 from "./gen/daalu/drift/v1/drift_pb.js";
export * from "./wire-write.js";
