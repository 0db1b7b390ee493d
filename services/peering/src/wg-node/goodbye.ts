/**
 * EdgeLifecycleService on the hub node: an edge that got SIGTERM says goodbye
 * through the tunnel before it deletes its interface, so the row turns red at
 * once (domain/health.ts) instead of after the handshake threshold.
 *
 * The caller is its TCP source address and nothing else: the hub's WireGuard
 * device admits a peer's packets only from that peer's /32 (allowed IPs), and
 * the subnet pool is routed into the device or `unreachable` on the hub host,
 * so an answer to a forged source could never complete a TCP handshake. A
 * source that is no tracked cluster's tunnel address is refused (NOT_FOUND) and
 * changes nothing.
 */
import { create } from "@bufbuild/protobuf";
import { edgev1 } from "@daalu/proto";
import { bindGrpc, grpc, grpcDefinition, shutdownGrpc, type Logger } from "@daalu/runtime";

export const DEFAULT_GOODBYE_PORT = 7444;

/** The IPv4 host of a grpc-js peer ("ipv4:10.1.2.3:4567", "[::ffff:10.1.2.3]:4567"), else undefined. */
export function peerIpv4(peer: string): string | undefined {
  const m = /^(?:ipv[46]:)?(?:\[(?:::ffff:)?)?(\d{1,3}(?:\.\d{1,3}){3})\]?:\d+$/i.exec(peer.trim());
  return m?.[1];
}

export interface GoodbyeServer {
  port: number;
  close(timeoutMs: number): Promise<void>;
}

/**
 * Serves Goodbye on `host:port`. `onGoodbye(tunnelIp, reason)` marks the cluster
 * and resolves to its id, or undefined when no tracked cluster has that address.
 */
export async function startGoodbyeServer(opts: {
  host: string;
  port: number;
  logger: Logger;
  onGoodbye(tunnelIp: string, req: edgev1.GoodbyeRequest): Promise<string | undefined>;
}): Promise<GoodbyeServer> {
  const server = new grpc.Server();
  const log = opts.logger.child({ rpc: "EdgeLifecycleService/Goodbye" });
  const goodbye: grpc.handleUnaryCall<edgev1.GoodbyeRequest, edgev1.GoodbyeResponse> = (call, callback) => {
    const ip = peerIpv4(call.getPeer());
    const refuse = (details: string) => callback({ code: grpc.status.NOT_FOUND, details });
    if (!ip) return refuse("goodbye from an address that is no cluster's tunnel address");
    opts.onGoodbye(ip, call.request).then(
      (clusterId) => {
        if (!clusterId) {
          log.warn({ peer: ip }, "goodbye from an address that is no tracked cluster's; ignored");
          return refuse(`no cluster has the tunnel address ${ip} on this hub node`);
        }
        callback(null, create(edgev1.GoodbyeResponseSchema, { clusterId }));
      },
      (err: unknown) => {
        log.error({ err, peer: ip }, "goodbye not applied");
        callback({ code: grpc.status.UNAVAILABLE, details: "the hub could not record the goodbye" });
      },
    );
  };
  server.addService(grpcDefinition(edgev1.EdgeLifecycleService), { goodbye } as grpc.UntypedServiceImplementation);
  const port = await bindGrpc(server, `${opts.host}:${opts.port}`);
  return { port, close: (t) => shutdownGrpc(server, t) };
}
