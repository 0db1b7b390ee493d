/** The daalu.peering.v1 package: one namespace for all of its generated files. */
export * from "./gen/daalu/peering/v1/peering_pb.js";
export * from "./gen/daalu/peering/v1/events_pb.js";
export * from "./gen/daalu/peering/v1/alerts_pb.js";
export * from "./gen/daalu/peering/v1/hub_pb.js";
export * from "./gen/daalu/peering/v1/rbac_pb.js";
export * from "./gen/daalu/peering/v1/release_pb.js";
