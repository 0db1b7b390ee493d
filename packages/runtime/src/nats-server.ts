import { create, fromBinary, toBinary, type DescMethod } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { HEADER_CALLER, HEADER_DEADLINE, HEADER_TENANT, parseCaller, type CallContext } from "./context.js";
import { DeadlineSet, type Expiring } from "./deadlines.js";
import { Code, DaaluError } from "./errors.js";
import { errorHeaders } from "./error-headers.js";
import { DEFAULT_RPC_TIMEOUT_MS, methodSubject } from "./nats.js";
import { rpcServerMetrics } from "./metrics.js";
import { carrier } from "./nats-headers.js";
import { context as otelContext, extractTrace, SpanKind, withSpan } from "./tracing.js";
import type { ServiceImpl } from "./rpc-types.js";

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
    const record = rpcServerMetrics(`${service.name}/${method.name}`);
    subs.push(
      nc.subscribe(subject, {
        queue: opts.queue,
        callback: (err, msg) => {
          if (err) {
            log.error({ err }, "subscription error");
            return;
          }
          const p = handle(method, fn, msg, log, calls, record).finally(() => inflight.delete(p));
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
  record: (code: Code | 0, seconds: number) => void,
): Promise<void> {
  const t0 = performance.now();
  let code: Code | 0 = 0;
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
      code = de.code;
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
      record(code, (performance.now() - t0) / 1000);
      serverDeadlines.delete(deadline);
      calls.delete(ctl);
    });
}
