/**
 * One proxied call on the edge, whichever RPC carries it (Proxy, server.ts,
 * or a call on ProxyMux, mux-server.ts): the path rules, the token, one
 * request upstream (upstream.ts), the answer to a CallSink. A class with its
 * state in fields, not a handler closure with a dozen per-call closures: this
 * runs for every call, and the closures (and the EventEmitter a grpc-js-shaped
 * call needed) were a visible share of the edge's CPU per call.
 *
 * - Backpressure: once sink.chunk() returned false nothing more is read from
 *   the upstream socket until the sink's owner calls drained().
 * - Throughput: a chunk carries every body piece of one socket read, not one
 *   HTTP chunk (a `logs -f` stream sends one chunk per line).
 * - Cancellation: cancel(), the call's deadline and timeout_ms abort the
 *   upstream request.
 * - Status and body are forwarded verbatim (a Forbidden Status JSON reaches
 *   kubectl byte for byte).
 */
import { grpc, type Logger } from "@daalu/runtime";
import { filterHeaders, KUBERNETES_TARGET, REQUEST_HEADER_ALLOWLIST, type PolicyCache } from "./policy.js";
import type { ResponseHeader, UpstreamCall, UpstreamSink, Upstreams } from "./upstream.js";

/** ProxyRequest's fields the edge reads (edgev1.ProxyRequest, or mux-decode.ts's hand-decoded one). */
export interface ProxyCallRequest {
  readonly target: string;
  readonly method: string;
  readonly path: string;
  readonly headers: readonly { readonly name: string; readonly value: string }[];
  readonly body: Uint8Array;
  readonly timeoutMs: number;
}

/** Where a call's answer goes, in order: head, chunk*, then end; or fail instead, at any point. */
export interface CallSink {
  head(status: number, headers: readonly ResponseHeader[]): void;
  /** False: the reader pushes back; nothing more comes until the exchange's drained(). */
  chunk(data: Uint8Array): boolean;
  end(): void;
  /** Ends the call with a gRPC status (a cancelled call's sink ignores it). */
  fail(code: grpc.status, details: string): void;
}

/** What every call of one proxy handler shares. */
export interface ProxyContext {
  /** The path rules, with their decisions kept per path (policy.ts). */
  policy: PolicyCache;
  /** The proxy ServiceAccount's current token (throws when there is none). */
  token: () => string | undefined;
  kubeUrl: URL;
  targetUrls: ReadonlyMap<string, URL>;
  upstreams: Upstreams;
  log: Logger;
}

const JSON_HEADERS: readonly ResponseHeader[] = [{ name: "content-type", value: "application/json" }];

/**
 * Starts a call: refused at once (answered on `sink`, undefined returned) or
 * sent upstream (the exchange returned: cancel() and drained() are for the
 * sink's owner). `deadlineMs` is the call's deadline in epoch ms, Infinity for none.
 */
export function startCall(ctx: ProxyContext, req: ProxyCallRequest, sink: CallSink, deadlineMs: number): ProxyExchange | undefined {
  const decision = ctx.policy.decide(req);
  if (!decision.ok && decision.status) {
    // Answered as the API server answers a refusal: kubectl prints the message.
    ctx.log.warn({ target: req.target, method: req.method, reason: decision.status.reason }, "refused a proxy call with a Kubernetes Status");
    sink.head(decision.status.code, JSON_HEADERS);
    sink.chunk(Buffer.from(JSON.stringify(decision.status)));
    sink.end();
    return undefined;
  }
  if (!decision.ok) {
    ctx.log.info({ target: req.target, method: req.method, reason: decision.reason }, "refused a proxy call");
    sink.fail(grpc.status.PERMISSION_DENIED, decision.reason);
    return undefined;
  }
  const isKube = req.target === KUBERNETES_TARGET;
  const headers = filterHeaders(req.headers, REQUEST_HEADER_ALLOWLIST);
  if (isKube) {
    let t: string | undefined;
    try {
      t = ctx.token();
    } catch (err) {
      ctx.log.error({ err }, "no token of the proxy ServiceAccount");
      sink.fail(grpc.status.UNAVAILABLE, `the edge has no token of its proxy ServiceAccount: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
    if (t) headers["authorization"] = `Bearer ${t}`;
  }
  const base = isKube ? ctx.kubeUrl : ctx.targetUrls.get(req.target)!;
  const ex = new ProxyExchange(ctx, req, sink, isKube);
  let budget = deadlineMs - Date.now();
  if (req.timeoutMs > 0 && !(budget <= req.timeoutMs)) budget = req.timeoutMs;
  if (Number.isFinite(budget)) ex.arm(Math.max(1, budget));
  ex.send(base, headers);
  return ex;
}

/** One call sent upstream: the upstream's answer (UpstreamSink) goes on to the call's sink. */
export class ProxyExchange implements UpstreamSink {
  private upstream: UpstreamCall | undefined;
  private aborted: Error | undefined;
  private finished = false;
  private timer: NodeJS.Timeout | undefined;
  // Body pieces the parser delivers in one socket read leave as one chunk; flushed after that read (a microtask) or at the end.
  private pending: Buffer[] = [];
  private blocked = false;

  constructor(
    private readonly ctx: ProxyContext,
    private readonly req: ProxyCallRequest,
    private readonly sink: CallSink,
    private readonly isKube: boolean,
  ) {}

  /** Aborts the call after `ms` (its deadline or timeout_ms, whichever is first). */
  arm(ms: number): void {
    this.timer = setTimeout(() => this.abort("deadline exceeded"), ms);
  }

  send(base: URL, headers: Record<string, string>): void {
    const basePath = base.pathname.length > 1 ? base.pathname.replace(/\/+$/, "") : "";
    const r = this.req;
    this.upstream = this.ctx.upstreams.request(base.origin, { method: r.method, path: basePath + r.path, headers, body: r.body }, this);
  }

  /** The hub cancelled the call. */
  cancel(): void {
    this.abort("cancelled by the hub");
  }

  /** The sink has room again: flush what is held and read on. */
  drained(): void {
    if (!this.blocked) return;
    this.blocked = false;
    this.flush();
    if (!this.blocked) this.upstream?.resume();
  }

  head(status: number, headers: ResponseHeader[]): void {
    this.sink.head(status, headers);
  }

  data(chunk: Buffer): boolean {
    if (this.pending.push(chunk) === 1) queueMicrotask(() => this.flush());
    return !this.blocked;
  }

  end(): void {
    this.blocked = false;
    this.flush();
    this.done();
    this.sink.end();
  }

  error(err: Error): void {
    if (this.finished) return;
    this.done();
    const aborted = this.aborted;
    const msg = aborted ? aborted.message : err.message;
    const code = aborted ? (msg === "deadline exceeded" ? grpc.status.DEADLINE_EXCEEDED : grpc.status.CANCELLED) : grpc.status.UNAVAILABLE;
    if (code === grpc.status.UNAVAILABLE) this.ctx.log.warn({ err: err.message, target: this.req.target }, "upstream request failed");
    this.sink.fail(code, code === grpc.status.UNAVAILABLE ? `the ${this.isKube ? "API server" : `target ${this.req.target}`} is unreachable from the edge: ${err.message}` : msg);
  }

  private abort(why: string): void {
    if (this.finished || this.aborted) return;
    this.aborted = new Error(why);
    this.upstream?.abort(this.aborted);
  }

  private flush(): void {
    if (this.blocked || this.pending.length === 0) return;
    const p = this.pending;
    const data = p.length === 1 ? p[0]! : Buffer.concat(p);
    this.pending = [];
    if (!this.sink.chunk(data)) this.blocked = true;
  }

  private done(): void {
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
