/** The typed PeeringService client other services and the gateway use. */
import { peeringv1 } from "@daalu/proto";
import { natsClient, type CallOptions, type MethodsOf, type NatsConnection, type ServiceClient } from "@daalu/runtime";

export type PeeringClient = ServiceClient<MethodsOf<typeof peeringv1.PeeringService>>;

/** A client over NATS request/reply (subjects `[prefix.]daalu.peering.v1.<Method>`). */
export function peeringClient(nc: NatsConnection, opts: { prefix: string; defaults?: CallOptions }): PeeringClient {
  return natsClient(nc, peeringv1.PeeringService, opts);
}
