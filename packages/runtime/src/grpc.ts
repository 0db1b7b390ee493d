import { create, fromBinary, toBinary, type DescMethod } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import { HEADER_CALLER, HEADER_ERROR_HTTP, HEADER_ERROR_REASON, HEADER_TENANT, formatCaller, parseCaller, resolveCallOptions, type CallContext, type CallOptions } from "./context.js";
import { Code, DaaluError, codeFromGrpcStatus, fromWire, toGrpcStatus } from "./errors.js";
import { DEFAULT_RPC_TIMEOUT_MS } from "./nats.js";
import { extractTrace, injectTrace, SpanKind, withSpan, type HeaderCarrier } from "./tracing.js";
import type { ServiceClient, ServiceImpl } from "./rpc-types.js";
import type { Resources } from "./run-service.js";

export { grpc };

function metaCarrier(md: grpc.Metadata): HeaderCarrier {
  return {
    get: (k) => {
      const v = md.get(k.toLowerCase())[0];
      return v === undefined ? undefined : String(v);
    },
    set: (k, v) => md.set(k.toLowerCase(), v),
    keys: () => Object.keys(md.getMap()),
  };
}

function definition(method: DescMethod): grpc.MethodDefinition<unknown, unknown> {
  return {
    path: `/${method.parent.typeName}/${method.name}`,
    requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
    responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
    requestSerialize: (m: unknown) => Buffer.from(toBinary(method.input, m as never)),
    requestDeserialize: (b: Buffer) => fromBinary(method.input, b),
    responseSerialize: (m: unknown) => Buffer.from(toBinary(method.output, m as never)),
    responseDeserialize: (b: Buffer) => fromBinary(method.output, b),
  };
}

/** A grpc-js service definition built from a generated descriptor (no codegen of stubs). */
export function grpcDefinition(service: GenService<GenServiceMethods>): grpc.ServiceDefinition {
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const m of service.methods) def[m.localName] = definition(m);
  return def as grpc.ServiceDefinition;
}

/** Adds the unary methods of `service` to a grpc-js server. */
export function serveGrpc<S extends GenServiceMethods>(server: grpc.Server, service: GenService<S>, impl: ServiceImpl<S>, logger: Logger): void {
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const method of service.methods) {
    if (method.methodKind !== "unary") continue;
    const fn = (impl as Record<string, (req: unknown, ctx: CallContext) => Promise<unknown>>)[method.localName];
    if (!fn) throw new Error(`serveGrpc: ${service.typeName} has no implementation for ${method.name}`);
    const log = logger.child({ rpc: `${service.name}/${method.name}` });
    handlers[method.localName] = ((call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const md = call.metadata;
      const c = metaCarrier(md);
      const ac = new AbortController();
      call.on("cancelled", () => ac.abort());
      const deadline = call.getDeadline();
      const signals = [ac.signal];
      if (deadline instanceof Date || typeof deadline === "number") {
        const ms = Number(deadline instanceof Date ? deadline.getTime() : deadline) - Date.now();
        if (Number.isFinite(ms)) signals.push(AbortSignal.timeout(Math.max(1, ms)));
      }
      const ctx: CallContext = {
        tenantId: c.get(HEADER_TENANT) ?? "",
        caller: parseCaller(c.get(HEADER_CALLER)),
        signal: AbortSignal.any(signals),
        logger: log,
      };
      void withSpan(`${method.parent.typeName}/${method.name}`, { kind: SpanKind.SERVER, parent: extractTrace(c), attributes: { "rpc.system": "grpc", "rpc.method": method.name } }, async () => {
        try {
          const res = await fn(call.request, ctx);
          callback(null, create(method.output, res as never));
        } catch (err) {
          const de = DaaluError.from(err);
          if (de.code === Code.Internal || de.code === Code.Unknown) log.error({ err: de.cause ?? err }, "request failed");
          const trailer = new grpc.Metadata();
          trailer.set(HEADER_ERROR_REASON.toLowerCase(), de.reason);
          trailer.set(HEADER_ERROR_HTTP.toLowerCase(), String(de.httpStatus));
          callback({ code: toGrpcStatus(de.code), details: de.message, metadata: trailer });
        }
      });
    }) as grpc.handleUnaryCall<unknown, unknown>;
  }
  server.addService(grpcDefinition(service), handlers);
}

/** Maps a grpc-js ServiceError back to a DaaluError. */
export function fromGrpcError(err: grpc.ServiceError): DaaluError {
  const reason = err.metadata?.get(HEADER_ERROR_REASON.toLowerCase())[0];
  const http = err.metadata?.get(HEADER_ERROR_HTTP.toLowerCase())[0];
  return fromWire({
    code: codeFromGrpcStatus(err.code),
    message: err.details || err.message,
    ...(reason !== undefined ? { reason: String(reason) } : {}),
    ...(http !== undefined ? { httpStatus: Number(http) } : {}),
  });
}

/** A typed promise client over grpc-js. */
export function grpcClient<S extends GenServiceMethods>(
  address: string,
  service: GenService<S>,
  opts: { credentials?: grpc.ChannelCredentials; defaults?: CallOptions; channelOptions?: grpc.ChannelOptions } = {},
): ServiceClient<S> & { close(): void } {
  const Ctor = grpc.makeGenericClientConstructor(grpcDefinition(service), service.typeName);
  const raw = new Ctor(address, opts.credentials ?? grpc.credentials.createInsecure(), opts.channelOptions ?? {}) as unknown as grpc.Client &
    Record<string, (req: unknown, md: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: unknown) => void) => void>;
  const client: Record<string, unknown> = { close: () => raw.close() };
  for (const method of service.methods) {
    if (method.methodKind !== "unary") continue;
    client[method.localName] = (req: unknown, call: CallOptions = {}) =>
      withSpan(`${method.parent.typeName}/${method.name}`, { kind: SpanKind.CLIENT, attributes: { "rpc.system": "grpc", "rpc.method": method.name } }, () => {
        const o = resolveCallOptions(opts.defaults, call);
        const md = new grpc.Metadata();
        if (o.tenantId) md.set(HEADER_TENANT.toLowerCase(), o.tenantId);
        md.set(HEADER_CALLER.toLowerCase(), formatCaller(o.caller));
        injectTrace(metaCarrier(md));
        const fn = raw[method.localName]!.bind(raw);
        return new Promise((resolve, reject) => {
          fn(create(method.input, req as never), md, { deadline: Date.now() + (o.timeoutMs ?? DEFAULT_RPC_TIMEOUT_MS) }, (err, res) => {
            if (err) reject(fromGrpcError(err));
            else resolve(res);
          });
        });
      });
  }
  return client as ServiceClient<S> & { close(): void };
}

/** Binds a grpc-js server; resolves to the bound port. */
export function bindGrpc(server: grpc.Server, address: string, creds = grpc.ServerCredentials.createInsecure()): Promise<number> {
  return new Promise((resolve, reject) => server.bindAsync(address, creds, (err, port) => (err ? reject(err) : resolve(port))));
}

/** Graceful gRPC shutdown: stop accepting, let calls finish, force after `timeoutMs`. */
export function shutdownGrpc(server: grpc.Server, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, timeoutMs);
    server.tryShutdown(() => {
      clearTimeout(t);
      resolve();
    });
  });
}

/**
 * A gRPC server on `address` with what `register` adds to it, closed with the
 * service's resources (gracefully, within `drainTimeoutMs`). Resolves to the bound port.
 */
export async function serveGrpcOn(res: Resources, address: string, drainTimeoutMs: number, register: (server: grpc.Server) => void): Promise<number> {
  const server = new grpc.Server();
  register(server);
  const port = await bindGrpc(server, address);
  res.add("grpc-server", () => shutdownGrpc(server, drainTimeoutMs));
  return port;
}
