/**
 * The edge side of EdgeService.Proxy: one HTTP request to the API server (or a
 * registered in-cluster target) per call, over undici's keep-alive pools (upstream.ts), with the token of the edge's proxy
 * ServiceAccount (read-only, no Secrets: never the pod's own account, which
 * can read the tunnel key), the response streamed back as a head frame and
 * body chunks. Reads of the edge's own Secrets (403) and writes (405: the hub
 * is read-only, access reviews aside) are answered here with a Kubernetes
 * Status and never reach the API server (policy.ts). A call on Proxy and one
 * multiplexed on ProxyMux (mux-server.ts) run the same code (exchange.ts).
 *
 * - Backpressure: once call.write() returned false the response is paused
 *   (undici stops reading its socket) until 'drain', so gRPC flow control
 *   (and, behind it, the hub's credit window) reaches the API server's TCP
 *   connection. The edge holds at most grpc-js's 16 unsent messages of at
 *   most one socket read each. Pinned by edge/test/proxy.test.ts "slow reader".
 * - Throughput: a message carries every body piece of one socket read, not
 *   one HTTP chunk (a `logs -f` stream sends one chunk per line).
 * - Cancellation: the call's 'cancelled' event, its deadline and timeout_ms
 *   abort the upstream request. Pinned by "cancel reaches the API server".
 * - Status and body are forwarded verbatim (a Forbidden Status JSON reaches
 *   kubectl byte for byte).
 */
import { readFileSync } from "node:fs";
import { create } from "@bufbuild/protobuf";
import { edgev1 } from "@daalu/proto";
import { grpc, grpcDefinition, type Logger } from "@daalu/runtime";
import { startCall, type CallSink, type ProxyContext } from "./exchange.js";
import { registerProxyMux } from "./mux-server.js";
import { Upstreams, type ResponseHeader } from "./upstream.js";
import { DEFAULT_ALLOWED_METHODS, PolicyCache, type HttpTarget } from "./policy.js";

/** How often a token file is re-read (projected ServiceAccount tokens rotate). */
export const TOKEN_FILE_REFRESH_MS = 60_000;

/** How the edge reaches its API server. The edge's config.ts decides (in-cluster or kubeconfig) and passes this in. */
export interface ApiServerRef {
  /** https://host:port (in-cluster: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT). */
  server: string;
  /** PEM CA bundle that verifies the API server (in-cluster: the SA ca.crt). */
  ca?: string | Buffer;
  /** Bearer token, a file to read it from (re-read every minute), or a function giving the current one (a rotating token; it throws when there is none). */
  token?: string;
  tokenFile?: string;
  tokenProvider?: () => string;
  /** Skip TLS verification (test kubeconfigs only). */
  insecureSkipTlsVerify?: boolean;
}

export interface EdgeProxyOptions {
  apiServer: ApiServerRef;
  /** Registered in-cluster HTTP targets, by name. */
  targets?: Record<string, HttpTarget>;
  /** Allowed methods; default GET and HEAD (read-only product). */
  methods?: readonly string[];
  /** The edge's namespace: its Secrets (the WireGuard private key) are never served, whatever RBAC says. */
  ownNamespace: string;
  logger: Logger;
  /** Serve ProxyMux beside Proxy (default true; false stands in for an edge of the previous contract in tests). */
  mux?: boolean;
}

type ProxyCall = grpc.ServerWritableStream<edgev1.ProxyRequest, edgev1.ProxyResponse>;

export function tokenSource(ref: ApiServerRef): () => string | undefined {
  if (ref.token !== undefined) return () => ref.token;
  if (ref.tokenProvider) return ref.tokenProvider;
  if (!ref.tokenFile) return () => undefined;
  const file = ref.tokenFile;
  let cached = "";
  let readAt = 0;
  return () => {
    const now = Date.now();
    if (now - readAt > TOKEN_FILE_REFRESH_MS || !cached) {
      cached = readFileSync(file, "utf8").trim();
      readAt = now;
    }
    return cached;
  };
}

function status(code: grpc.status, details: string): Partial<grpc.StatusObject> {
  return { code, details, metadata: new grpc.Metadata() };
}

/** A grpc-js Proxy call as a CallSink: each frame a ProxyResponse message. */
class GrpcCallSink implements CallSink {
  constructor(private readonly call: ProxyCall) {}

  head(code: number, headers: readonly ResponseHeader[]): void {
    this.call.write(create(edgev1.ProxyResponseSchema, { frame: { case: "head", value: { status: code, headers: [...headers] } } }));
  }

  chunk(data: Uint8Array): boolean {
    return this.call.write(create(edgev1.ProxyResponseSchema, { frame: { case: "chunk", value: { data } } }));
  }

  end(): void {
    this.call.end();
  }

  fail(code: grpc.status, details: string): void {
    if (this.call.cancelled) return;
    this.call.emit("error", status(code, details));
  }
}

/** What every call of one handler shares (exchange.ts): the policy, the token, the upstream pools. */
export function proxyContext(opts: EdgeProxyOptions): ProxyContext {
  const targets = opts.targets ?? {};
  const kubeUrl = new URL(opts.apiServer.server);
  return {
    policy: new PolicyCache({ methods: (opts.methods ?? DEFAULT_ALLOWED_METHODS).map((m) => m.toUpperCase()), targets, ownNamespace: opts.ownNamespace }),
    token: tokenSource(opts.apiServer),
    kubeUrl,
    targetUrls: new Map(Object.entries(targets).map(([name, t]) => [name, new URL(t.url)])),
    upstreams: new Upstreams({ origin: kubeUrl.origin, ...(opts.apiServer.ca ? { ca: opts.apiServer.ca } : {}), ...(opts.apiServer.insecureSkipTlsVerify ? { insecureSkipTlsVerify: true } : {}) }),
    log: opts.logger.child({ component: "proxy" }),
  };
}

/** The grpc-js handler of Proxy: one call per gRPC stream, run by exchange.ts. */
function edgeProxyHandler(ctx: ProxyContext): grpc.handleServerStreamingCall<edgev1.ProxyRequest, edgev1.ProxyResponse> {
  return (call: ProxyCall) => {
    const deadline = call.getDeadline();
    const deadlineMs = deadline instanceof Date ? deadline.getTime() : typeof deadline === "number" ? deadline : Infinity;
    const ex = startCall(ctx, call.request, new GrpcCallSink(call), deadlineMs);
    if (!ex) return;
    call.on("cancelled", () => ex.cancel());
    call.on("drain", () => ex.drained());
  };
}

export function* pairs(raw: string[]): Iterable<{ name: string; value: string }> {
  for (let i = 0; i + 1 < raw.length; i += 2) yield { name: raw[i]!, value: raw[i + 1]! };
}

/** The gRPC path of EdgeService.Proxy. */
export const PROXY_METHOD_PATH = `/${edgev1.EdgeService.typeName}/${edgev1.EdgeService.method.proxy.name}`;

/**
 * Adds Proxy and ProxyMux to a grpc-js server that already serves EdgeService. Call it AFTER
 * serveGrpc(server, edgev1.EdgeService, ...): serveGrpc registers only unary
 * methods and leaves grpc-js's UNIMPLEMENTED default on Proxy, which this
 * replaces. Works on a bare server too (tests).
 */
export function registerProxy(server: grpc.Server, opts: EdgeProxyOptions): void {
  const def = grpcDefinition(edgev1.EdgeService)[edgev1.EdgeService.method.proxy.localName]!;
  server.unregister(PROXY_METHOD_PATH);
  const ctx = proxyContext(opts);
  const ok = server.register(PROXY_METHOD_PATH, edgeProxyHandler(ctx) as grpc.UntypedHandleCall, def.responseSerialize as grpc.serialize<unknown>, def.requestDeserialize as grpc.deserialize<unknown>, "serverStream");
  if (!ok) throw new Error(`registerProxy: could not register ${PROXY_METHOD_PATH}`);
  // The same context (one pool of upstream connections) serves the calls multiplexed on ProxyMux.
  if (opts.mux !== false) registerProxyMux(server, ctx, opts.logger);
}
