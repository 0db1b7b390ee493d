/** What both ends of `bench hops` share: the NATS subject and the gRPC echo service (raw bytes, no protobuf). */
import type { grpc } from "@daalu/runtime";

export const ECHO_SUBJECT = "hops.echo";

const raw = (b: Buffer) => b;
/** `/hops.Echo/Echo`: one bidi stream, each message echoed. */
export const ECHO_SERVICE: grpc.ServiceDefinition = {
  echo: { path: "/hops.Echo/Echo", requestStream: true, responseStream: true, requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw },
};
