import { create } from "@bufbuild/protobuf";
import { edgev1 } from "@daalu/proto";
import { grpc, grpcDefinition, injectTrace } from "@daalu/runtime";

type RawEdgeClient = grpc.Client & {
  getStatus(req: edgev1.GetStatusRequest, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: edgev1.GetStatusResponse) => void): grpc.ClientUnaryCall;
  proxy(req: edgev1.ProxyRequest, md: grpc.Metadata, opts: grpc.CallOptions): grpc.ClientReadableStream<edgev1.ProxyResponse>;
};

/**
 * gRPC channels to edges, one per address (HTTP/2 multiplexes every call to
 * one edge over one connection). Keepalive pings notice a dead tunnel.
 */
export class EdgeClients {
  private readonly clients = new Map<string, RawEdgeClient>();
  private readonly Ctor = grpc.makeGenericClientConstructor(grpcDefinition(edgev1.EdgeService), "EdgeService");

  private client(addr: string): RawEdgeClient {
    let c = this.clients.get(addr);
    if (!c) {
      c = new this.Ctor(addr, grpc.credentials.createInsecure(), {
        "grpc.keepalive_time_ms": 20_000,
        "grpc.keepalive_timeout_ms": 10_000,
        "grpc.max_receive_message_length": 16 * 1024 * 1024,
      }) as unknown as RawEdgeClient;
      this.clients.set(addr, c);
    }
    return c;
  }

  /** Starts EdgeService.Proxy on the edge at `addr`; `deadline` undefined for streams. */
  proxy(addr: string, req: edgev1.ProxyRequest, md: grpc.Metadata, deadline: number | undefined): grpc.ClientReadableStream<edgev1.ProxyResponse> {
    return this.client(addr).proxy(create(edgev1.ProxyRequestSchema, req), md, deadline === undefined ? {} : { deadline });
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
