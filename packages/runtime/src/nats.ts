import { create, fromBinary, toBinary, type DescMethod } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import { connect, headers as natsHeaders, NoRespondersError, RequestError, TimeoutError, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { CallerKind } from "@daalu/proto";
import type { Logger } from "pino";
import {
  HEADER_CALLER,
  HEADER_DEADLINE,
  HEADER_ERROR_CODE,
  HEADER_ERROR_HTTP,
  HEADER_ERROR_MESSAGE,
  HEADER_ERROR_REASON,
  HEADER_TENANT,
  formatCaller,
  parseCaller,
  type CallContext,
  type CallOptions,
} from "./context.js";
import { Code, DaaluError, fromWire } from "./errors.js";
import { context as otelContext, extractTrace, injectTrace, SpanKind, withSpan, type HeaderCarrier } from "./tracing.js";
import type { ServiceClient, ServiceImpl } from "./rpc-types.js";

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
 */
export function serveNats<S extends GenServiceMethods>(
  nc: NatsConnection,
  service: GenService<S>,
  impl: ServiceImpl<S>,
  opts: NatsServeOptions,
): NatsServer {
  const inflight = new Set<Promise<void>>();
  const drainCtl = new AbortController();
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
          const p = handle(method, fn, msg, log, drainCtl.signal).finally(() => inflight.delete(p));
          inflight.add(p);
        },
      }),
    );
  }
  return {
    get inflight() {
      return inflight.size;
    },
    async drain() {
      // Stop taking new requests first, then let in-flight ones finish.
      await Promise.all(subs.map((s) => s.drain().catch(() => undefined)));
      await Promise.allSettled([...inflight]);
      drainCtl.abort();
    },
  };
}

async function handle(
  method: DescMethod,
  fn: (req: unknown, ctx: CallContext) => Promise<unknown>,
  msg: Msg,
  log: Logger,
  drainSignal: AbortSignal,
): Promise<void> {
  const h = msg.headers;
  const parent = h ? extractTrace(carrier(h)) : otelContext.active();
  await withSpan(`${method.parent.typeName}/${method.name}`, { kind: SpanKind.SERVER, parent, attributes: { "rpc.system": "nats", "rpc.method": method.name } }, async (span) => {
    const deadline = Number(h?.get(HEADER_DEADLINE) || 0);
    const remaining = deadline > 0 ? deadline - Date.now() : DEFAULT_RPC_TIMEOUT_MS * 6;
    const signals = [drainSignal, AbortSignal.timeout(Math.max(1, remaining))];
    const ctx: CallContext = {
      tenantId: h?.get(HEADER_TENANT) ?? "",
      caller: parseCaller(h?.get(HEADER_CALLER)),
      signal: AbortSignal.any(signals),
      logger: log,
    };
    if (ctx.tenantId) span.setAttribute("daalu.tenant", ctx.tenantId);
    try {
      if (remaining <= 0) throw new DaaluError(Code.DeadlineExceeded, "deadline passed before the request was handled");
      const req = fromBinary(method.input, msg.data);
      const res = await fn(req, ctx);
      const out = create(method.output, res as never);
      msg.respond(toBinary(method.output, out));
    } catch (err) {
      const de = DaaluError.from(err);
      if (de.code === Code.Internal || de.code === Code.Unknown) log.error({ err: err instanceof DaaluError && err.cause ? err.cause : err }, "request failed");
      else log.debug({ code: Code[de.code], reason: de.reason }, "request refused");
      span.setAttribute("daalu.error.reason", de.reason);
      const eh = natsHeaders();
      eh.set(HEADER_ERROR_CODE, String(de.code));
      eh.set(HEADER_ERROR_REASON, de.reason);
      eh.set(HEADER_ERROR_MESSAGE, encodeURIComponent(de.message));
      eh.set(HEADER_ERROR_HTTP, String(de.httpStatus));
      msg.respond(new Uint8Array(0), { headers: eh });
      throw err;
    }
  }).catch(() => undefined);
}

export interface NatsClientOptions {
  prefix: string;
  /** Default call options (e.g. the service's own caller identity). */
  defaults?: CallOptions;
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
    client[method.localName] = (req: unknown, call: CallOptions = {}) =>
      withSpan(`${method.parent.typeName}/${method.name}`, { kind: SpanKind.CLIENT, attributes: { "rpc.system": "nats", "rpc.method": method.name } }, async () => {
        const o = { ...opts.defaults, ...call };
        const timeout = o.timeoutMs ?? DEFAULT_RPC_TIMEOUT_MS;
        const h = natsHeaders();
        if (o.tenantId) h.set(HEADER_TENANT, o.tenantId);
        h.set(HEADER_CALLER, formatCaller(o.caller ?? { kind: CallerKind.SERVICE, id: "unknown" }));
        h.set(HEADER_DEADLINE, String(Date.now() + timeout));
        injectTrace(carrier(h));
        const body = toBinary(method.input, create(method.input, req as never));
        let res: Msg;
        try {
          res = await nc.request(subject, body, { timeout, headers: h });
        } catch (err) {
          const cause = (err as Error & { cause?: Error }).cause;
          if ((err instanceof RequestError && err.isNoResponders()) || err instanceof NoRespondersError || cause instanceof NoRespondersError) {
            throw new DaaluError(Code.Unavailable, `${service.name} is unavailable (no responders on ${subject})`, { cause: err });
          }
          if (err instanceof TimeoutError || cause instanceof TimeoutError) {
            throw new DaaluError(Code.DeadlineExceeded, `${service.name}.${method.name} timed out after ${timeout} ms`, { cause: err });
          }
          throw DaaluError.from(err);
        }
        const rh = res.headers;
        if (rh?.has(HEADER_ERROR_CODE)) {
          throw fromWire({
            code: Number(rh.get(HEADER_ERROR_CODE)),
            reason: rh.get(HEADER_ERROR_REASON),
            message: decodeURIComponent(rh.get(HEADER_ERROR_MESSAGE)),
            httpStatus: Number(rh.get(HEADER_ERROR_HTTP)) || undefined,
          } as never);
        }
        return fromBinary(method.output, res.data);
      });
  }
  return client as ServiceClient<S>;
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
