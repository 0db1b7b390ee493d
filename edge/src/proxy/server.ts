/**
 * The edge side of EdgeService.Proxy: one HTTP request to the API server (or a
 * registered in-cluster target) per call, over undici's keep-alive pools (upstream.ts), with the token of the edge's proxy
 * ServiceAccount (read-only, no Secrets: never the pod's own account, which
 * can read the tunnel key), the response streamed back as a head frame and
 * body chunks. Reads of the edge's own Secrets (403) and writes (405: the hub
 * is read-only, access reviews aside) are answered here with a Kubernetes
 * Status and never reach the API server (policy.ts). The same handler runs
 * every call multiplexed on ProxyMux (mux-server.ts), given a stand-in call.
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
import { registerProxyMux } from "./mux-server.js";
import { Upstreams } from "./upstream.js";
import { DEFAULT_ALLOWED_METHODS, filterHeaders, KUBERNETES_TARGET, PolicyCache, REQUEST_HEADER_ALLOWLIST, type HttpTarget } from "./policy.js";

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

/**
 * The grpc-js handler of Proxy. Use registerProxy() to add it to the edge's
 * server; this is exported for servers built differently (tests).
 */
export function edgeProxyHandler(opts: EdgeProxyOptions): grpc.handleServerStreamingCall<edgev1.ProxyRequest, edgev1.ProxyResponse> {
  const targets = opts.targets ?? {};
  const policy = new PolicyCache({ methods: (opts.methods ?? DEFAULT_ALLOWED_METHODS).map((m) => m.toUpperCase()), targets, ownNamespace: opts.ownNamespace });
  const token = tokenSource(opts.apiServer);
  const kubeUrl = new URL(opts.apiServer.server);
  const upstreams = new Upstreams({ origin: kubeUrl.origin, ...(opts.apiServer.ca ? { ca: opts.apiServer.ca } : {}), ...(opts.apiServer.insecureSkipTlsVerify ? { insecureSkipTlsVerify: true } : {}) });
  const targetUrls = new Map(Object.entries(targets).map(([name, t]) => [name, new URL(t.url)]));
  const log = opts.logger.child({ component: "proxy" });

  return (call: ProxyCall) => {
    const req = call.request;
    const decision = policy.decide(req);
    if (!decision.ok && decision.status) {
      // Answered as the API server answers a refusal: kubectl prints the message.
      log.warn({ target: req.target, method: req.method, reason: decision.status.reason }, "refused a proxy call with a Kubernetes Status");
      const body = Buffer.from(JSON.stringify(decision.status));
      call.write(create(edgev1.ProxyResponseSchema, { frame: { case: "head", value: { status: decision.status.code, headers: [{ name: "content-type", value: "application/json" }] } } }));
      call.write(create(edgev1.ProxyResponseSchema, { frame: { case: "chunk", value: { data: body } } }));
      call.end();
      return;
    }
    if (!decision.ok) {
      log.info({ target: req.target, method: req.method, reason: decision.reason }, "refused a proxy call");
      call.emit("error", status(grpc.status.PERMISSION_DENIED, decision.reason));
      return;
    }
    const isKube = req.target === KUBERNETES_TARGET;
    const base = isKube ? kubeUrl : targetUrls.get(req.target)!;
    const headers: Record<string, string> = filterHeaders(req.headers, REQUEST_HEADER_ALLOWLIST);
    if (isKube) {
      let t: string | undefined;
      try {
        t = token();
      } catch (err) {
        log.error({ err }, "no token of the proxy ServiceAccount");
        call.emit("error", status(grpc.status.UNAVAILABLE, `the edge has no token of its proxy ServiceAccount: ${err instanceof Error ? err.message : String(err)}`));
        return;
      }
      if (t) headers["authorization"] = `Bearer ${t}`;
    }

    let aborted: Error | undefined;
    let abortUpstream: (why: Error) => void = () => undefined;
    let finished = false;
    const timers: NodeJS.Timeout[] = [];
    const abort = (why: string) => {
      if (finished || aborted) return;
      aborted = new Error(why);
      abortUpstream(aborted);
    };
    call.on("cancelled", () => abort("cancelled by the hub"));
    const deadline = call.getDeadline();
    const deadlineMs = deadline instanceof Date ? deadline.getTime() : typeof deadline === "number" ? deadline : Infinity;
    const budgets = [deadlineMs - Date.now(), req.timeoutMs > 0 ? req.timeoutMs : Infinity].filter(Number.isFinite);
    if (budgets.length > 0) timers.push(setTimeout(() => abort("deadline exceeded"), Math.max(1, Math.min(...budgets))));
    const done = () => {
      finished = true;
      for (const t of timers) clearTimeout(t);
    };

    const basePath = base.pathname.replace(/\/+$/, "");
    const fail = (err: Error) => {
      if (finished) return;
      done();
      if (call.cancelled) return;
      const msg = aborted ? aborted.message : err.message;
      const code = aborted ? (msg === "deadline exceeded" ? grpc.status.DEADLINE_EXCEEDED : grpc.status.CANCELLED) : grpc.status.UNAVAILABLE;
      if (code === grpc.status.UNAVAILABLE) log.warn({ err: err.message, target: req.target }, "upstream request failed");
      call.emit("error", status(code, code === grpc.status.UNAVAILABLE ? `the ${isKube ? "API server" : `target ${req.target}`} is unreachable from the edge: ${err.message}` : msg));
    };
    // Body pieces the parser delivers in one socket read leave as one message (`logs -f` gets
    // one HTTP chunk per line); flushed after that read (a microtask) or at the end. Nothing more
    // is read while gRPC (or the call's credit) pushes back: the socket stops reading.
    let pending: Buffer[] = [];
    let blocked = false;
    const flush = () => {
      if (blocked || pending.length === 0) return;
      const data = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
      pending = [];
      if (!call.write(create(edgev1.ProxyResponseSchema, { frame: { case: "chunk", value: { data } } }))) {
        blocked = true;
        call.once("drain", () => {
          blocked = false;
          flush();
          if (!blocked) upstream.resume();
        });
      }
    };
    const upstream = upstreams.request(
      base.origin,
      { method: req.method, path: basePath + req.path, headers, body: req.body },
      {
        head: (code, hs) => {
          call.write(create(edgev1.ProxyResponseSchema, { frame: { case: "head", value: { status: code, headers: hs } } }));
        },
        data: (chunk) => {
          if (pending.push(chunk) === 1) queueMicrotask(flush);
          return !blocked;
        },
        end: () => {
          blocked = false;
          flush();
          done();
          call.end();
        },
        error: fail,
      },
    );
    abortUpstream = (why) => upstream.abort(why);
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
  const handler = edgeProxyHandler(opts);
  const ok = server.register(PROXY_METHOD_PATH, handler as grpc.UntypedHandleCall, def.responseSerialize as grpc.serialize<unknown>, def.requestDeserialize as grpc.deserialize<unknown>, "serverStream");
  if (!ok) throw new Error(`registerProxy: could not register ${PROXY_METHOD_PATH}`);
  // The same handler (one pool of upstream connections) serves the calls multiplexed on ProxyMux.
  if (opts.mux !== false) registerProxyMux(server, handler, opts.logger);
}
