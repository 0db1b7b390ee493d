import { create } from "@bufbuild/protobuf";
import { edgev1 } from "@daalu/proto";
import { grpc, grpcDefinition, injectTrace } from "@daalu/runtime";
import { MuxConnection, type EdgeProxyCall } from "./mux-client.js";
import { decodeProxyResponse } from "./mux-decode.js";

const PROXY_PATH = `/${edgev1.EdgeService.typeName}/${edgev1.EdgeService.method.proxy.name}`;
const SESSION_PATH = `/${edgev1.EdgeSessionService.typeName}/${edgev1.EdgeSessionService.method.session.name}`;
/** The request is already ProxyRequest bytes (the NATS payload): sent as they are, never encoded again. */
const asIs = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

type RawEdgeClient = grpc.Client & {
  getStatus(req: edgev1.GetStatusRequest, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: edgev1.GetStatusResponse) => void): grpc.ClientUnaryCall;
};

/** How long an edge without ProxyMux (UNIMPLEMENTED) is served by Proxy before the hub asks again (it may have been upgraded). */
export const MUX_RECHECK_MS = 60_000;
/** HTTP/2 window (stream and connection) of the ProxyMux channel. */
const MUX_FLOW_CONTROL_WINDOW = 16 * 1024 * 1024;
/** HTTP/2 window (stream and connection) of the sessions' channel: what one paused session may hold, and what a download has in flight per round trip. */
const SESSION_FLOW_CONTROL_WINDOW = 1024 * 1024;

/**
 * gRPC channels to edges, one per address (HTTP/2 multiplexes every call to
 * one edge over one connection). Keepalive pings notice a dead tunnel.
 * Proxy calls go over one ProxyMux stream per edge (mux-client.ts); to an
 * edge of the previous contract, as one Proxy call each.
 */
export class EdgeClients {
  private readonly clients = new Map<string, RawEdgeClient>();
  private readonly muxClients = new Map<string, RawEdgeClient>();
  private readonly sessionClients = new Map<string, RawEdgeClient>();
  private readonly muxes = new Map<string, MuxConnection>();
  /** Edges that answered ProxyMux with UNIMPLEMENTED, and until when Proxy is used for them. */
  private readonly noMuxUntil = new Map<string, number>();
  private readonly def = grpcDefinition(edgev1.EdgeService);
  private readonly Ctor = grpc.makeGenericClientConstructor(this.def, "EdgeService");
  private readonly sessionDef = grpcDefinition(edgev1.EdgeSessionService)[edgev1.EdgeSessionService.method.session.localName]!;
  private readonly encodeSession = this.sessionDef.requestSerialize as (m: edgev1.SessionRequest) => Buffer;
  private readonly decodeSession = this.sessionDef.responseDeserialize as (b: Buffer) => edgev1.SessionResponse;

  private client(addr: string): RawEdgeClient {
    return this.channel(this.clients, addr, {});
  }

  /**
   * The ProxyMux stream's own channel (its own HTTP/2 connection): every call
   * to the edge shares that one stream, so HTTP/2's default 64 KiB stream
   * window would hold 64 calls' answers to a few round trips over the tunnel.
   * The stream is never paused, so the window bounds nothing here: each
   * call's credit does (mux-client.ts). Proxy's channel keeps the default: a
   * paused Proxy call holds up to its stream's window.
   */
  private muxClient(addr: string): RawEdgeClient {
    return this.channel(this.muxClients, addr, { "grpc-node.flow_control_window": MUX_FLOW_CONTROL_WINDOW });
  }

  /**
   * Sessions' own channel: with HTTP/2's default 64 KiB window a download from
   * the edge moves 64 KiB per round trip over the tunnel. A session paused for
   * the caller's credit (session-handler.ts) still holds at most this window.
   */
  private sessionClient(addr: string): RawEdgeClient {
    return this.channel(this.sessionClients, addr, { "grpc-node.flow_control_window": SESSION_FLOW_CONTROL_WINDOW });
  }

  private channel(map: Map<string, RawEdgeClient>, addr: string, extra: grpc.ChannelOptions): RawEdgeClient {
    let c = map.get(addr);
    if (!c) {
      c = new this.Ctor(addr, grpc.credentials.createInsecure(), {
        "grpc.keepalive_time_ms": 20_000,
        "grpc.keepalive_timeout_ms": 10_000,
        "grpc.max_receive_message_length": 16 * 1024 * 1024,
        // channelz keeps per-call counters and traces for an admin service we never serve: work on every call.
        "grpc.enable_channelz": 0,
        ...extra,
      }) as unknown as RawEdgeClient;
      map.set(addr, c);
    }
    return c;
  }

  /**
   * Starts a proxied call on the edge at `addr` (on its ProxyMux stream, or
   * as one EdgeService.Proxy call when the edge has none) with `request`, the
   * encoded ProxyRequest exactly as it is to be sent (the caller's NATS
   * payload: protobuf is encoded once, by the gateway); `deadline` undefined
   * for streams. `md` (tenant, caller, trace) is built only for a Proxy call.
   * Rejects with the gRPC error when the ProxyMux stream failed before the
   * edge's hello (e.g. UNAVAILABLE: the tunnel is down).
   */
  async proxy(addr: string, request: Uint8Array, md: () => grpc.Metadata, deadline: number | undefined): Promise<EdgeProxyCall> {
    if ((this.noMuxUntil.get(addr) ?? 0) <= Date.now()) {
      let mux = this.muxes.get(addr);
      if (!mux) {
        const m = new MuxConnection(this.muxClient(addr), () => {
          if (this.muxes.get(addr) === m) this.muxes.delete(addr);
        });
        this.muxes.set(addr, (mux = m));
      }
      if (await mux.ready) return mux.call(request, deadline);
      this.noMuxUntil.set(addr, Date.now() + MUX_RECHECK_MS);
    }
    return this.client(addr).makeServerStreamRequest(PROXY_PATH, asIs, decodeProxyResponse, request, md(), deadline === undefined ? {} : { deadline });
  }

  /** EdgeSessionService.Session on the edge at `addr` (the sessions' channel): the caller writes the open frame first. */
  session(addr: string, md: grpc.Metadata): grpc.ClientDuplexStream<edgev1.SessionRequest, edgev1.SessionResponse> {
    return this.sessionClient(addr).makeBidiStreamRequest(SESSION_PATH, this.encodeSession, this.decodeSession, md, {});
  }

  /** EdgeService.GetStatus on the edge at `addr`, in the caller's trace. */
  getStatus(addr: string, deadline: number): Promise<edgev1.GetStatusResponse> {
    const md = new grpc.Metadata();
    injectTrace({ get: () => undefined, set: (k, v) => md.set(k.toLowerCase(), v), keys: () => [] });
    return new Promise((resolve, reject) => {
      this.client(addr).getStatus(create(edgev1.GetStatusRequestSchema), md, { deadline }, (err, res) => (err ? reject(err) : resolve(res!)));
    });
  }

  close(): void {
    for (const m of this.muxes.values()) m.close();
    this.muxes.clear();
    for (const map of [this.clients, this.muxClients, this.sessionClients]) {
      for (const c of map.values()) c.close();
      map.clear();
    }
  }
}
