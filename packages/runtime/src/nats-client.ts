import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import { headers as natsHeaders, type Msg, type MsgHdrs, type NatsConnection } from "@nats-io/transport-node";
import { HEADER_CALLER, HEADER_DEADLINE, HEADER_TENANT, formatCaller, resolveCallOptions, type CallOptions } from "./context.js";
import { DeadlineSet, type Expiring } from "./deadlines.js";
import { Code, DaaluError } from "./errors.js";
import { errorFromHeaders } from "./error-headers.js";
import { inboxMux } from "./inbox-mux.js";
import { DEFAULT_RPC_TIMEOUT_MS, methodSubject } from "./nats.js";
import { carrier } from "./nats-headers.js";
import { injectTrace, SpanKind, withSpan } from "./tracing.js";
import type { ServiceClient, ServiceSender } from "./rpc-types.js";

export interface NatsClientOptions {
  prefix: string;
  /** Default call options (e.g. the service's own caller identity). */
  defaults?: CallOptions;
}

/** Client-side deadlines of every request this process sends. */
const clientDeadlines = new DeadlineSet();


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
