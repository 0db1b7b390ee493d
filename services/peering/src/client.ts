/** The typed PeeringService client other services and the gateway use. */
import { peeringv1 } from "@daalu/proto";
import { natsClient, natsSender, type CallOptions, type MethodsOf, type NatsConnection, type ServiceClient, type ServiceSender } from "@daalu/runtime";

export type PeeringClient = ServiceClient<MethodsOf<typeof peeringv1.PeeringService>>;
export type PeeringSender = ServiceSender<MethodsOf<typeof peeringv1.PeeringService>>;

/**
 * A client over NATS request/reply (subjects `[prefix.]daalu.peering.v1.<Method>`).
 * The caller is the runtime's one rule (resolveCallOptions): the call's, else `defaults.caller`.
 */
export function peeringClient(nc: NatsConnection, opts: { prefix: string; defaults?: CallOptions }): PeeringClient {
  return natsClient(nc, peeringv1.PeeringService, opts);
}

/**
 * One-way sends on the same subjects: nobody waits for the answer, so only for
 * calls another path completes when a message is lost (invite's CommitEnrollment).
 */
export function peeringSender(nc: NatsConnection, opts: { prefix: string; defaults?: CallOptions; onError?: (err: unknown, subject: string) => void }): PeeringSender {
  return natsSender(nc, peeringv1.PeeringService, opts);
}

export type HubNodeClient = ServiceClient<MethodsOf<typeof peeringv1.HubNodeService>>;

/**
 * The hub nodes' own API (HubNodeService over NATS: diagnostics of a cluster's tunnel),
 * answered by whichever hub node holds that tunnel.
 */
export function hubNodeClient(nc: NatsConnection, opts: { prefix: string; defaults?: CallOptions }): HubNodeClient {
  return natsClient(nc, peeringv1.HubNodeService, opts);
}
