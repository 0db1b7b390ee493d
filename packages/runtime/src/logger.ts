import { pino, type Logger } from "pino";
import { trace } from "@opentelemetry/api";

export type { Logger } from "pino";

/**
 * Paths that must never reach a log line. Tokens and private keys are redacted
 * wherever they appear in a structured field.
 */
export const REDACT_PATHS = [
  "token",
  "*.token",
  "req.token",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "privateKey",
  "*.privateKey",
  "private_key",
  "*.private_key",
  "password",
  "*.password",
];

/** The one pino logger of a process; pass `logger.child({ component })` down. */
export function createLogger(service: string, level = "info", destination?: pino.DestinationStream): Logger {
  return pino(
    {
      name: service,
      level,
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      base: { service },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Every line written inside a span names its trace, so logs join traces.
      mixin() {
        const span = trace.getActiveSpan();
        if (!span) return {};
        const sc = span.spanContext();
        return { trace_id: sc.traceId, span_id: sc.spanId };
      },
    },
    destination,
  );
}
