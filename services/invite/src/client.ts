import { CallerKind, invitev1 } from "@daalu/proto";
import { grpcClient, natsClient, type CallOptions, type MethodsOf, type NatsConnection, type ServiceClient } from "@daalu/runtime";

export type InviteClient = ServiceClient<MethodsOf<typeof invitev1.InviteService>>;

/** The typed invite client over NATS (what the gateway and peering use). */
export function inviteClient(nc: NatsConnection, opts: { prefix: string; defaults?: CallOptions }): InviteClient {
  return natsClient(nc, invitev1.InviteService, { prefix: opts.prefix, defaults: { caller: { kind: CallerKind.SERVICE, id: "unknown" }, ...opts.defaults } });
}

/** The typed invite client over gRPC (default port 7101). */
export function inviteGrpcClient(address: string, defaults?: CallOptions): InviteClient & { close(): void } {
  return grpcClient(address, invitev1.InviteService, defaults ? { defaults } : {});
}
