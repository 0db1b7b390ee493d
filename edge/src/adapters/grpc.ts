import { edgev1 } from "@daalu/proto";
import { bindGrpc, grpc, serveGrpc, shutdownGrpc, type Logger, type ServiceImpl } from "@daalu/runtime";
import { isAllowedPeer } from "../domain/peer-address.js";
import { registerProxy, registerSession, type EdgeProxyOptions } from "../proxy/index.js";

type EdgeMethods = (typeof edgev1.EdgeService)["method"];

/** The unary methods; the streaming Proxy is added by registerProxy (edge/src/proxy). */
export type EdgeUnaryImpl = Pick<ServiceImpl<EdgeMethods>, "getStatus">;

/**
 * Refuses every call whose TCP peer is not the hub's tunnel address, before
 * the handler runs. The server is bound to the tunnel address, so only the
 * tunnel (where WireGuard admits the hub's /32 alone) and the pod itself can
 * reach it; this check shuts out the pod itself and anything routed to the
 * address some other way. Pinned by edge/test/status-server.test.ts and the
 * e2e (a call from the edge's own namespace gets PERMISSION_DENIED).
 */
export function hubOnlyInterceptor(hubTunnelIp: string, logger: Logger): grpc.ServerInterceptor {
  return (_method, call) =>
    new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (metadata, mdNext) => {
            const peer = call.getPeer();
            if (isAllowedPeer(peer, hubTunnelIp)) {
              mdNext(metadata);
              return;
            }
            logger.warn({ peer }, "refused a gRPC call that did not come from the hub's tunnel address");
            call.sendStatus({ code: grpc.status.PERMISSION_DENIED, details: `only the hub's tunnel address ${hubTunnelIp} may call the edge`, metadata: new grpc.Metadata() });
          },
        });
      },
    });
}

/** A running EdgeService server. */
export interface StatusServer {
  port: number;
  close(timeoutMs: number): Promise<void>;
}

/** Serves EdgeService on `host:port` (the tunnel address), accepting the hub's tunnel address only. */
export async function startStatusServer(opts: { host: string; port: number; hubTunnelIp: string; impl: EdgeUnaryImpl; proxy?: EdgeProxyOptions; logger: Logger }): Promise<StatusServer> {
  const server = new grpc.Server({ interceptors: [hubOnlyInterceptor(opts.hubTunnelIp, opts.logger)] });
  // serveGrpc only registers unary methods, so the streaming keys the type demands are never read.
  serveGrpc(server, edgev1.EdgeService, opts.impl as ServiceImpl<EdgeMethods>, opts.logger);
  // After serveGrpc, which leaves grpc-js's UNIMPLEMENTED default on Proxy. The
  // interceptor above guards Proxy too: only the hub may use the API server.
  if (opts.proxy) {
    registerProxy(server, opts.proxy);
    registerSession(server, opts.proxy);
  }
  const host = opts.host.includes(":") ? `[${opts.host}]` : opts.host;
  const port = await bindGrpc(server, `${host}:${opts.port}`);
  return { port, close: (t) => shutdownGrpc(server, t) };
}
