import { create, fromBinary, toBinary, type DescMethod } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import { connect, createInbox, headers as natsHeaders, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import type { Logger } from "pino";
import {
  HEADER_CALLER,
  HEADER_DEADLINE,
  HEADER_TENANT,
  formatCaller,
  parseCaller,
  resolveCallOptions,
  type CallContext,
  type CallOptions,
} from "./context.js";
import { DeadlineSet, type Expiring } from "./deadlines.js";
import { Code, DaaluError } from "./errors.js";
import { errorFromHeaders, errorHeaders } from "./error-headers.js";
import { context as otelContext, extractTrace, injectTrace, SpanKind, withSpan, type HeaderCarrier } from "./tracing.js";
import type { ServiceClient, ServiceImpl, ServiceSender } from "./rpc-types.js";

export type { NatsConnection } from "@nats-io/transport-node";

export const DEFAULT_RPC_TIMEOUT_MS = 5_000;

/**
 * Connects with reconnect forever (services ride out NATS restarts).
 *
 * `noAsyncTraces`: without it nats.js builds a stack-capturing RequestError and
 * TimeoutError for every request and subscription timer, whether or not it
 * fails — a fixed cost on every call of every hop. Errors keep their class and
 * `cause` (natsClient maps them by class), only the caller's stack is lost.
 */
export async function connectNats(url: string, name: string, logger: Logger): Promise<NatsConnection> {
  const nc = await connect({ servers: url.split(","), name, maxReconnectAttempts: -1, reconnectTimeWait: 250, noAsyncTraces: true });
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect" || s.type === "reconnect" || s.type === "error") logger.warn({ nats: s.type }, "nats connection status");
    }
  })();
  return nc;
}

/**
 * The subject of a method: `[prefix.]daalu.<area>.v1.<Method>`, taken from the
 * proto package so that subjects and contracts cannot drift apart.
 */
export function methodSubject(prefix: string, method: DescMethod): string {
  const pkg = method.parent.typeName.slice(0, method.parent.typeName.lastIndexOf("."));
  return `${prefix ? `${prefix}.` : ""}${pkg}.${method.name}`;
}

function carrier(h: MsgHdrs): HeaderCarrier {
  return {
    get: (k) => (h.has(k) ? h.get(k) : undefined),
    set: (k, v) => h.set(k, v),
    keys: () => h.keys(),
  };
}

export interface NatsServeOptions {
  prefix: string;
  /** Queue group: replicas of one service share the load. */
  queue: string;
  logger: Logger;
}

/** A running NATS adapter; `drain()` stops taking requests and waits for in-flight ones. */
export interface NatsServer {
  drain(): Promise<void>;
  readonly inflight: number;
}

/**
 * Serves every unary method of `service` on its subject: decode -> impl ->
 * encode. Errors go back as Daalu-Error-* headers with an empty body.
 * Resolves once the server has the subscriptions (a flush), so a request sent
 * from another connection right after finds a responder.
 */
export async function serveNats<S extends GenServiceMethods>(
  nc: NatsConnection,
  service: GenService<S>,
  impl: ServiceImpl<S>,
  opts: NatsServeOptions,
): Promise<NatsServer> {
  const inflight = new Set<Promise<void>>();
  const calls = new Set<AbortController>();
  const subs: Subscription[] = [];
  for (const method of service.methods) {
    if (method.methodKind !== "unary") continue;
    const fn = (impl as Record<string, (req: unknown, ctx: CallContext) => Promise<unknown>>)[method.localName];
    if (!fn) throw new Error(`serveNats: ${service.typeName} has no implementation for ${method.name}`);
    const subject = methodSubject(opts.prefix, method);
    const log = opts.logger.child({ rpc: `${service.name}/${method.name}` });
    subs.push(
      nc.subscribe(subject, {
        queue: opts.queue,
        callback: (err, msg) => {
          if (err) {
            log.error({ err }, "subscription error");
            return;
          }
          const p = handle(method, fn, msg, log, calls).finally(() => inflight.delete(p));
          inflight.add(p);
        },
      }),
    );
  }
  await nc.flush();
  return {
    get inflight() {
      return inflight.size;
    },
    async drain() {
      // Stop taking new requests first, then let in-flight ones finish.
      await Promise.all(subs.map((s) => s.drain().catch(() => undefined)));
      await Promise.allSettled([...inflight]);
      for (const c of calls) c.abort(new DaaluError(Code.Unavailable, "the server is draining"));
    },
  };
}

/** Server-side deadlines of every request this process serves. */
const serverDeadlines = new DeadlineSet();

/** A request's deadline: aborts its signal when it passes. */
class CallDeadline implements Expiring {
  constructor(
    readonly at: number,
    private readonly ctl: AbortController,
  ) {}

  expire(): void {
    this.ctl.abort(new DaaluError(Code.DeadlineExceeded, "the caller's deadline passed"));
  }
}

async function handle(
  method: DescMethod,
  fn: (req: unknown, ctx: CallContext) => Promise<unknown>,
  msg: Msg,
  log: Logger,
  calls: Set<AbortController>,
): Promise<void> {
  const h = msg.headers;
  const parent = h ? extractTrace(carrier(h)) : otelContext.active();
  // One controller per call, its deadline on the shared sweep, aborted on
  // drain too; no timer or composite signal per call.
  const ctl = new AbortController();
  const deadlineHeader = Number(h?.get(HEADER_DEADLINE) || 0);
  const deadline = new CallDeadline(deadlineHeader > 0 ? deadlineHeader : Date.now() + DEFAULT_RPC_TIMEOUT_MS * 6, ctl);
  calls.add(ctl);
  serverDeadlines.add(deadline);
  await withSpan(`${method.parent.typeName}/${method.name}`, { kind: SpanKind.SERVER, parent, attributes: { "rpc.system": "nats", "rpc.method": method.name } }, async (span) => {
    const ctx: CallContext = {
      tenantId: h?.get(HEADER_TENANT) ?? "",
      caller: parseCaller(h?.get(HEADER_CALLER)),
      signal: ctl.signal,
      logger: log,
    };
    if (ctx.tenantId) span.setAttribute("daalu.tenant", ctx.tenantId);
    try {
      if (deadline.at <= Date.now()) throw new DaaluError(Code.DeadlineExceeded, "deadline passed before the request was handled");
      const req = fromBinary(method.input, msg.data);
      const res = await fn(req, ctx);
      // A one-way send (natsSender) has no reply subject: nobody reads an answer.
      if (msg.reply) msg.respond(toBinary(method.output, create(method.output, res as never)));
    } catch (err) {
      const de = DaaluError.from(err);
      if (de.code === Code.Internal || de.code === Code.Unknown) log.error({ err: err instanceof DaaluError && err.cause ? err.cause : err }, "request failed");
      else log.debug({ code: Code[de.code], reason: de.reason }, "request refused");
      span.setAttribute("daalu.error.reason", de.reason);
      if (!msg.reply) throw err;
      msg.respond(new Uint8Array(0), { headers: errorHeaders(de) });
      throw err;
    }
  })
    .catch(() => undefined)
    .finally(() => {
      serverDeadlines.delete(deadline);
      calls.delete(ctl);
    });
}

export interface NatsClientOptions {
  prefix: string;
  /** Default call options (e.g. the service's own caller identity). */
  defaults?: CallOptions;
}

/** Client-side deadlines of every request this process sends. */
const clientDeadlines = new DeadlineSet();

type InboxCallback = (err: Error | null, msg: Msg | undefined) => void;

/**
 * One wildcard inbox subscription per connection, dispatching replies by
 * subject to whoever registered that inbox: request/reply here (one reply
 * per inbox) and the tunnel's chunked streams (many). A subscription per
 * call would cost a SUB and an UNSUB on the wire and two changes to the
 * server's subject index per call. On a subscription error or a closed
 * connection every registered inbox hears the error.
 */
export class InboxMux {
  private readonly prefix = `${createInbox()}.`;
  private readonly routes = new Map<string, InboxCallback>();
  private next = 0;

  constructor(nc: NatsConnection) {
    nc.subscribe(`${this.prefix}*`, {
      callback: (err, msg) => {
        if (err) this.failAll(err);
        else this.routes.get(msg.subject)?.(null, msg);
      },
    });
    // Nobody will answer on a closed connection: fail now rather than at each deadline.
    void nc.closed().then(() => this.failAll(new DaaluError(Code.Unavailable, "the NATS connection is closed")));
  }

  private failAll(err: Error): void {
    for (const cb of [...this.routes.values()]) cb(err, undefined);
  }

  /** A fresh inbox subject of this connection. */
  inbox(): string {
    return this.prefix + (this.next++).toString(36);
  }

  /** Routes messages on `inbox` to `cb` until `remove` is called. */
  add(inbox: string, cb: InboxCallback): { remove(): void } {
    this.routes.set(inbox, cb);
    return { remove: () => this.routes.delete(inbox) };
  }
}

const muxes = new WeakMap<NatsConnection, InboxMux>();

/** The connection's inbox mux (made on first use). */
export function inboxMux(nc: NatsConnection): InboxMux {
  let m = muxes.get(nc);
  if (!m) {
    m = new InboxMux(nc);
    muxes.set(nc, m);
  }
  return m;
}

class PendingRequest implements Expiring {
  route: { remove(): void } | undefined;

  constructor(
    readonly at: number,
    readonly subject: string,
    readonly resolve: (m: Msg) => void,
    readonly reject: (e: Error) => void,
  ) {}

  forget(): void {
    this.route?.remove();
    clientDeadlines.delete(this);
  }

  expire(): void {
    this.forget();
    this.reject(new RequestTimeout(this.subject));
  }
}

class RequestTimeout extends Error {
  constructor(readonly subject: string) {
    super(`request on ${subject} timed out`);
  }
}

class NoResponders extends Error {
  constructor(readonly subject: string) {
    super(`no responders on ${subject}`);
  }
}

/**
 * Request/reply over the connection's inbox mux, like nats.js's own, minus
 * what that costs per request: a timer and a deferred per call, a promise
 * race, and a stack-capturing `RequestError("cancelled")` built on every
 * successful reply. Deadlines go on the shared sweep instead.
 */
function request(nc: NatsConnection, subject: string, data: Uint8Array, headers: MsgHdrs, timeoutMs: number): Promise<Msg> {
  return new Promise<Msg>((resolve, reject) => {
    const mux = inboxMux(nc);
    const inbox = mux.inbox();
    const p = new PendingRequest(Date.now() + timeoutMs, subject, resolve, reject);
    p.route = mux.add(inbox, (err, msg) => {
      p.forget();
      if (err) p.reject(err);
      // The server answers a request nobody subscribes to with an empty 503 status message.
      else if (msg!.data.length === 0 && msg!.headers?.code === 503) p.reject(new NoResponders(subject));
      else p.resolve(msg!);
    });
    clientDeadlines.add(p);
    try {
      nc.publish(subject, data, { reply: inbox, headers });
    } catch (err) {
      p.forget();
      reject(err as Error);
    }
  });
}

/** The request headers every call carries: tenant, caller, deadline, trace context. */
function callHeaders(o: ReturnType<typeof resolveCallOptions>, timeout: number): MsgHdrs {
  const h = natsHeaders();
  if (o.tenantId) h.set(HEADER_TENANT, o.tenantId);
  h.set(HEADER_CALLER, formatCaller(o.caller));
  h.set(HEADER_DEADLINE, String(Date.now() + timeout));
  injectTrace(carrier(h));
  return h;
}

/** A typed client over NATS request/reply. */
export function natsClient<S extends GenServiceMethods>(
  nc: NatsConnection,
  service: GenService<S>,
  opts: NatsClientOptions,
): ServiceClient<S> {
  const client: Record<string, unknown> = {};
  for (const method of service.methods) {
    if (method.methodKind !== "unary") continue;
    const subject = methodSubject(opts.prefix, method);
    const spanName = `${method.parent.typeName}/${method.name}`;
    const attributes = { "rpc.system": "nats", "rpc.method": method.name };
    client[method.localName] = (req: unknown, call: CallOptions = {}) =>
      withSpan(spanName, { kind: SpanKind.CLIENT, attributes }, async () => {
        const o = resolveCallOptions(opts.defaults, call);
        const timeout = o.timeoutMs ?? DEFAULT_RPC_TIMEOUT_MS;
        const body = toBinary(method.input, create(method.input, req as never));
        let res: Msg;
        try {
          res = await request(nc, subject, body, callHeaders(o, timeout), timeout);
        } catch (err) {
          if (err instanceof NoResponders) {
            // Messages can reach a person (problem+json); the subject stays in `cause`, for logs.
            throw new DaaluError(Code.Unavailable, `${service.name} is unavailable (no instance is running)`, { cause: err });
          }
          if (err instanceof RequestTimeout) {
            throw new DaaluError(Code.DeadlineExceeded, `${service.name}.${method.name} timed out after ${timeout} ms`, { cause: err });
          }
          throw DaaluError.from(err);
        }
        const failed = errorFromHeaders(res.headers);
        if (failed) throw failed;
        return fromBinary(method.output, res.data);
      });
  }
  return client as ServiceClient<S>;
}

/**
 * One-way sends of a service's requests: the same subject, message and
 * headers as {@link natsClient}, but no reply subject, so the server's
 * answer (or error) goes nowhere and the sender does not wait. Only for
 * calls whose effect another path guarantees when the message is lost (see
 * the enrollment saga's commit in docs/architecture.md). A send on a closed
 * connection is dropped and reported to `onError`.
 */
export function natsSender<S extends GenServiceMethods>(
  nc: NatsConnection,
  service: GenService<S>,
  opts: NatsClientOptions & { onError?: (err: unknown, subject: string) => void },
): ServiceSender<S> {
  const sender: Record<string, unknown> = {};
  for (const method of service.methods) {
    if (method.methodKind !== "unary") continue;
    const subject = methodSubject(opts.prefix, method);
    sender[method.localName] = (req: unknown, call: CallOptions = {}) => {
      const o = resolveCallOptions(opts.defaults, call);
      try {
        nc.publish(subject, toBinary(method.input, create(method.input, req as never)), { headers: callHeaders(o, o.timeoutMs ?? DEFAULT_RPC_TIMEOUT_MS) });
      } catch (err) {
        opts.onError?.(err, subject);
      }
    };
  }
  return sender as ServiceSender<S>;
}

/**
 * Event subjects (core NATS and JetStream): `[prefix.]daalu.events.<tenant>.<kind>`.
 * Kinds are dotted, e.g. "cluster.enrolled", "cluster.status", "alert.critical".
 */
export function eventSubject(prefix: string, tenantId: string, kind: string): string {
  return `${prefix ? `${prefix}.` : ""}daalu.events.${tenantId}.${kind}`;
}

/**
 * Audit subjects (JetStream): `[prefix.]daalu.audit.calls.<tenant>.<cluster>`.
 * The `calls` token keeps the stream's wildcard off the audit service's own
 * request subjects (`daalu.audit.v1.<Method>`), which `daalu.audit.*.*` matched.
 */
export function auditSubject(prefix: string, tenantId: string, clusterId: string): string {
  return `${prefix ? `${prefix}.` : ""}daalu.audit.calls.${tenantId}.${clusterId}`;
}

/** Tunnel subjects: `[prefix.]daalu.tunnel.v1.<tenant>.<cluster>.<Method>`, answered by the hub node holding the tunnel. */
export function tunnelSubject(prefix: string, tenantId: string, clusterId: string, method: string): string {
  return `${prefix ? `${prefix}.` : ""}daalu.tunnel.v1.${tenantId}.${clusterId}.${method}`;
}
