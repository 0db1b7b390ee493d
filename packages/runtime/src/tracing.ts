import { context, isSpanContextValid, propagation, trace, SpanKind, SpanStatusCode, TraceFlags, type Context, type Span, type SpanOptions, type Tracer } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor, type SpanExporter, type SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import type { OtlpConfig } from "./telemetry-config.js";

export { SpanKind, SpanStatusCode, context, trace, propagation };
export type { Span, Context };

let provider: NodeTracerProvider | undefined;
/** Whether any span processor exports spans; without one, spans only carry context. */
let recording = false;

export interface TracingOptions {
  serviceName: string;
  /** "none" keeps spans in-process (still propagated); "console" prints them; "otlp" sends them to `otlp`. */
  exporter?: "none" | "console" | "otlp";
  /** Where "otlp" sends spans (OTLP/HTTP, protobuf), batched. */
  otlp?: OtlpConfig | undefined;
  /** Extra exporter, e.g. an in-memory one in tests (exported synchronously). */
  testExporter?: SpanExporter;
}

/**
 * Registers the process-wide tracer provider with W3C trace-context
 * propagation and async-context tracking. Idempotent per process: a second call
 * adds nothing (tests run several services in one process).
 */
export function initTracing(opts: TracingOptions): void {
  if (provider) return;
  const processors: SpanProcessor[] = [];
  if (opts.exporter === "console") processors.push(new BatchSpanProcessor(new ConsoleSpanExporter()));
  if (opts.exporter === "otlp" && opts.otlp) {
    processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url: opts.otlp.url, headers: opts.otlp.headers, timeoutMillis: opts.otlp.timeoutMs })));
  }
  if (opts.testExporter) processors.push(new SimpleSpanProcessor(opts.testExporter));
  provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ "service.name": opts.serviceName }),
    spanProcessors: processors,
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  recording = processors.length > 0;
}

export async function shutdownTracing(): Promise<void> {
  await provider?.shutdown();
  provider = undefined;
  recording = false;
}

/**
 * The tracer to open spans with. With an exporter it is the SDK's; without
 * one (the services' default) nobody would ever read what the SDK records
 * per span (attributes, events, clocks), so spans only carry the trace
 * context: see {@link ContextOnlyTracer}.
 */
export function tracer(name = "daalu"): Tracer {
  return recording ? trace.getTracer(name) : contextOnly;
}

const idBytes = Buffer.alloc(16);

/** A random non-zero id of `bytes` bytes as hex (trace ids need not be secret; the SDK uses Math.random too). */
function randomId(bytes: 8 | 16): string {
  for (;;) {
    for (let i = 0; i < bytes; i += 4) idBytes.writeUInt32BE((Math.random() * 0x1_0000_0000) >>> 0, i);
    for (let i = 0; i < bytes; i++) if (idBytes[i] !== 0) return idBytes.toString("hex", 0, bytes);
  }
}

/**
 * Spans that record nothing but still continue or start a trace the way the
 * SDK's default sampler (parent-based, always on) would: a new span id, the
 * parent's trace id and sampled flag, or a new sampled trace at the root. So
 * `traceparent` keeps travelling across REST → NATS → service hops and
 * problem+json still names the trace, without a span object per call.
 */
class ContextOnlyTracer implements Tracer {
  startSpan(_name: string, options?: SpanOptions, ctx: Context = context.active()): Span {
    const parent = options?.root ? undefined : trace.getSpanContext(ctx);
    const valid = parent !== undefined && isSpanContextValid(parent);
    return trace.wrapSpanContext({
      traceId: valid ? parent.traceId : randomId(16),
      spanId: randomId(8),
      traceFlags: valid ? parent.traceFlags & TraceFlags.SAMPLED : TraceFlags.SAMPLED,
      isRemote: false,
    });
  }

  startActiveSpan = ((name: string, ...rest: unknown[]) => {
    const fn = rest[rest.length - 1] as (span: Span) => unknown;
    const options = rest.length >= 2 ? (rest[0] as SpanOptions) : undefined;
    const ctx = rest.length >= 3 ? (rest[1] as Context) : context.active();
    const span = this.startSpan(name, options, ctx);
    return context.with(trace.setSpan(ctx, span), fn, undefined, span);
  }) as Tracer["startActiveSpan"];
}

const contextOnly = new ContextOnlyTracer();

/** A carrier with get/set by header name (NATS MsgHdrs, gRPC Metadata, Node headers). */
export interface HeaderCarrier {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
  keys(): string[];
}

export function injectTrace(carrier: HeaderCarrier, ctx: Context = context.active()): void {
  propagation.inject(ctx, carrier, {
    set: (c, k, v) => c.set(k, v),
  });
}

export function extractTrace(carrier: HeaderCarrier, ctx: Context = context.active()): Context {
  return propagation.extract(ctx, carrier, {
    get: (c, k) => c.get(k),
    keys: (c) => c.keys(),
  });
}

/** Runs `fn` inside a span, recording errors; the span ends when `fn` settles. */
export async function withSpan<T>(
  name: string,
  opts: { kind?: SpanKind; parent?: Context; attributes?: Record<string, string | number | boolean> },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = opts.parent ?? context.active();
  const span = tracer().startSpan(name, { kind: opts.kind ?? SpanKind.INTERNAL, attributes: opts.attributes ?? {} }, parent);
  return context.with(trace.setSpan(parent, span), async () => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** The active trace id, or "" outside a span. */
export function activeTraceId(): string {
  return trace.getActiveSpan()?.spanContext().traceId ?? "";
}
