/** The daalu.edge.v1 package: one namespace for all of its generated files. */
export * from "./gen/daalu/edge/v1/edge_pb.js";
export * from "./gen/daalu/edge/v1/lifecycle_pb.js";
