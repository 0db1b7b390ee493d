import { context, propagation, trace, SpanKind, SpanStatusCode, type Context, type Span } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor, type SpanExporter, type SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";

export { SpanKind, SpanStatusCode, context, trace, propagation };
export type { Span, Context };

let provider: NodeTracerProvider | undefined;

export interface TracingOptions {
  serviceName: string;
  /** "none" keeps spans in-process (still propagated); "console" prints them. */
  exporter?: "none" | "console";
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
  if (opts.testExporter) processors.push(new SimpleSpanProcessor(opts.testExporter));
  provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ "service.name": opts.serviceName }),
    spanProcessors: processors,
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
}

export async function shutdownTracing(): Promise<void> {
  await provider?.shutdown();
  provider = undefined;
}

export function tracer(name = "daalu") {
  return trace.getTracer(name);
}

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
