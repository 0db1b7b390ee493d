/**
 * The proxy's HTTP client to the API server and the registered targets:
 * undici, one keep-alive Pool per origin, driven through its dispatch handler
 * (no request/response objects or streams per call). The edge's profile had
 * Node's http.request + Agent at ~60 % of its CPU per proxied call.
 *
 * - TLS to the API server with the configured CA (in-cluster: the
 *   ServiceAccount's ca.crt); other https targets use the system CAs.
 * - No timeouts of undici's own: a watch or `logs -f` may be silent for hours.
 *   The caller's deadline and timeout_ms abort the request (abort()).
 * - Backpressure: sink.data() returning false pauses the response (undici
 *   stops reading the socket) until resume().
 * - A kept-alive connection the server closed while idle fails the next read
 *   sent on it before any byte of an answer: GET and HEAD are sent again,
 *   once. Writes are not: their fate is unknown.
 */
import { Pool } from "undici";
import type { Dispatcher } from "undici";
import { RESPONSE_HEADER_ALLOWLIST } from "./policy.js";

/** Max connections per upstream origin: bounds the edge's connections to the API server. */
const DEFAULT_MAX_SOCKETS = 64;

export interface ResponseHeader {
  name: string;
  value: string;
}

/** Where a response goes. Called in order: head, data*, then end or error (error may come instead of head). */
export interface UpstreamSink {
  head(status: number, headers: ResponseHeader[]): void;
  /** False: do not deliver more until resume(). */
  data(chunk: Buffer): boolean;
  end(): void;
  error(err: Error): void;
}

export interface UpstreamRequest {
  method: string;
  /** Path with the query, as sent (the origin's base path already prepended). */
  path: string;
  headers: Record<string, string>;
  body?: Uint8Array;
}

/** A request in flight: abort() fails it with `reason` (delivered to sink.error unless it already ended). */
export interface UpstreamCall {
  abort(reason: Error): void;
  resume(): void;
}

/**
 * How long an idle connection is kept (undici's default is 4 s: a person's kubectl calls seconds apart would
 * each pay a TLS handshake to the API server). Below kube-apiserver's 90 s idle timeout; a server that closes
 * sooner costs a read one retry (below).
 */
const IDLE_KEEP_ALIVE_MS = 60_000;

const RETRY_CODES = new Set(["ECONNRESET", "EPIPE", "UND_ERR_SOCKET"]);

/** Allowlisted response headers from undici's raw [name, value, …] (first value of a name wins). */
function responseHeaders(raw: Buffer[]): ResponseHeader[] {
  const out: ResponseHeader[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toString("latin1").toLowerCase();
    if (!RESPONSE_HEADER_ALLOWLIST.has(name) || out.some((h) => h.name === name)) continue;
    const value = raw[i + 1]!.toString("latin1");
    if (!/[\r\n]/.test(value)) out.push({ name, value });
  }
  return out;
}

/**
 * One request upstream and its legacy-API dispatch handler (the API undici's core calls natively: no wrapping per
 * call), which is also the caller's handle. A retry dispatches the same object again.
 */
class Exchange implements Dispatcher.DispatchHandler, UpstreamCall {
  private abortFn: ((err?: Error) => void) | undefined;
  private resumeFn: (() => void) | undefined;
  private reason: Error | undefined;
  private started = false;
  private done = false;

  constructor(
    private readonly pool: Pool,
    private readonly opts: Dispatcher.DispatchOptions,
    private readonly sink: UpstreamSink,
    private mayRetry: boolean,
  ) {}

  send(): void {
    this.pool.dispatch(this.opts, this);
  }

  abort(reason: Error): void {
    if (this.done || this.reason) return;
    this.reason = reason;
    this.abortFn?.(reason);
  }

  resume(): void {
    this.resumeFn?.();
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abortFn = abort;
    if (this.reason) abort(this.reason);
  }

  onHeaders(statusCode: number, headers: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true;
    this.started = true;
    this.resumeFn = resume;
    this.sink.head(statusCode, responseHeaders(headers));
    return true;
  }

  onData(chunk: Buffer): boolean {
    return this.sink.data(chunk);
  }

  onComplete(): void {
    this.done = true;
    this.sink.end();
  }

  onError(err: Error): void {
    if (this.done) return;
    const code = (err as NodeJS.ErrnoException).code;
    if (!this.started && !this.reason && this.mayRetry && code !== undefined && RETRY_CODES.has(code)) {
      this.mayRetry = false;
      this.abortFn = undefined;
      return this.send();
    }
    this.done = true;
    this.sink.error(this.reason ?? err);
  }
}

/** The pools of one proxy handler: the API server's (its CA) and one per target origin, made on first use. */
export class Upstreams {
  private readonly pools = new Map<string, Pool>();

  constructor(private readonly kube: { origin: string; ca?: string | Buffer; insecureSkipTlsVerify?: boolean }) {}

  private pool(origin: string, isKube: boolean): Pool {
    let p = this.pools.get(origin);
    if (!p) {
      const tls = isKube ? { ...(this.kube.ca ? { ca: this.kube.ca } : {}), rejectUnauthorized: !this.kube.insecureSkipTlsVerify } : {};
      p = new Pool(origin, { connections: DEFAULT_MAX_SOCKETS, headersTimeout: 0, bodyTimeout: 0, keepAliveTimeout: IDLE_KEEP_ALIVE_MS, connect: tls });
      this.pools.set(origin, p);
    }
    return p;
  }

  /** Sends `req` to `origin` (the API server when it is the kube origin); the answer goes to `sink`. GET and HEAD may be sent twice (above). */
  request(origin: string, req: UpstreamRequest, sink: UpstreamSink): UpstreamCall {
    const method = req.method.toUpperCase() as Dispatcher.HttpMethod;
    const opts: Dispatcher.DispatchOptions = { method, path: req.path, headers: req.headers };
    if (req.body && req.body.length > 0) opts.body = Buffer.from(req.body.buffer, req.body.byteOffset, req.body.byteLength);
    const ex = new Exchange(this.pool(origin, origin === this.kube.origin), opts, sink, method === "GET" || method === "HEAD");
    ex.send();
    return ex;
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close()));
  }
}
