import { create } from "@bufbuild/protobuf";
import { edgev1 } from "@daalu/proto";
import { grpc, grpcDefinition, injectTrace } from "@daalu/runtime";

const PROXY_PATH = `/${edgev1.EdgeService.typeName}/${edgev1.EdgeService.method.proxy.name}`;
const SESSION_PATH = `/${edgev1.EdgeSessionService.typeName}/${edgev1.EdgeSessionService.method.session.name}`;
/** The request is already ProxyRequest bytes (the NATS payload): sent as they are, never encoded again. */
const asIs = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

type RawEdgeClient = grpc.Client & {
  getStatus(req: edgev1.GetStatusRequest, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: edgev1.GetStatusResponse) => void): grpc.ClientUnaryCall;
};

/**
 * gRPC channels to edges, one per address (HTTP/2 multiplexes every call to
 * one edge over one connection). Keepalive pings notice a dead tunnel.
 */
export class EdgeClients {
  private readonly clients = new Map<string, RawEdgeClient>();
  private readonly def = grpcDefinition(edgev1.EdgeService);
  private readonly Ctor = grpc.makeGenericClientConstructor(this.def, "EdgeService");
  private readonly sessionDef = grpcDefinition(edgev1.EdgeSessionService)[edgev1.EdgeSessionService.method.session.localName]!;
  private readonly encodeSession = this.sessionDef.requestSerialize as (m: edgev1.SessionRequest) => Buffer;
  private readonly decodeSession = this.sessionDef.responseDeserialize as (b: Buffer) => edgev1.SessionResponse;
  private readonly decodeResponse = this.def[edgev1.EdgeService.method.proxy.localName]!.responseDeserialize as (b: Buffer) => edgev1.ProxyResponse;

  private client(addr: string): RawEdgeClient {
    let c = this.clients.get(addr);
    if (!c) {
      c = new this.Ctor(addr, grpc.credentials.createInsecure(), {
        "grpc.keepalive_time_ms": 20_000,
        "grpc.keepalive_timeout_ms": 10_000,
        "grpc.max_receive_message_length": 16 * 1024 * 1024,
        // channelz keeps per-call counters and traces for an admin service we never serve: work on every call.
        "grpc.enable_channelz": 0,
      }) as unknown as RawEdgeClient;
      this.clients.set(addr, c);
    }
    return c;
  }

  /**
   * Starts EdgeService.Proxy on the edge at `addr` with `request`, the
   * encoded ProxyRequest exactly as it is to be sent (the caller's NATS
   * payload: protobuf is encoded once, by the gateway); `deadline` undefined
   * for streams.
   */
  proxy(addr: string, request: Uint8Array, md: grpc.Metadata, deadline: number | undefined): grpc.ClientReadableStream<edgev1.ProxyResponse> {
    return this.client(addr).makeServerStreamRequest(PROXY_PATH, asIs, this.decodeResponse, request, md, deadline === undefined ? {} : { deadline });
  }

  /** EdgeSessionService.Session on the edge at `addr` (same channel as Proxy): the caller writes the open frame first. */
  session(addr: string, md: grpc.Metadata): grpc.ClientDuplexStream<edgev1.SessionRequest, edgev1.SessionResponse> {
    return this.client(addr).makeBidiStreamRequest(SESSION_PATH, this.encodeSession, this.decodeSession, md, {});
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
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
