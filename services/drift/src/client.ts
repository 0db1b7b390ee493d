import { driftv1 } from "@daalu/proto";
import { natsClient, type CallOptions, type MethodsOf, type NatsConnection, type ServiceClient } from "@daalu/runtime";

export type DriftClient = ServiceClient<MethodsOf<typeof driftv1.DriftService>>;

/** The typed drift client over NATS (what the gateway will use); the caller follows the runtime's one rule (resolveCallOptions). */
export function driftClient(nc: NatsConnection, opts: { prefix: string; defaults?: CallOptions }): DriftClient {
  return natsClient(nc, driftv1.DriftService, opts);
}
