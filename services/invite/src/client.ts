import { invitev1 } from "@daalu/proto";
import { grpcClient, natsClient, type CallOptions, type MethodsOf, type NatsConnection, type ServiceClient } from "@daalu/runtime";

export type InviteClient = ServiceClient<MethodsOf<typeof invitev1.InviteService>>;

/** The typed invite client over NATS (what the gateway and peering use); the caller follows the runtime's one rule (resolveCallOptions). */
export function inviteClient(nc: NatsConnection, opts: { prefix: string; defaults?: CallOptions }): InviteClient {
  return natsClient(nc, invitev1.InviteService, opts);
}

/** The typed invite client over gRPC (default port 7101). */
export function inviteGrpcClient(address: string, defaults?: CallOptions): InviteClient & { close(): void } {
  return grpcClient(address, invitev1.InviteService, defaults ? { defaults } : {});
}
