/**
 * Where a process sends its telemetry, read by every service's loadConfig
 * (through readCommon) and by the edge's: the metrics listener and the
 * standard OpenTelemetry exporter variables.
 */
import type { EnvReader } from "./config.js";

/** Spans exported with OTLP over HTTP (protobuf body), the protocol's default. */
export interface OtlpConfig {
  /** The traces URL: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as given, else OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces. */
  url: string;
  /** OTEL_EXPORTER_OTLP_HEADERS then OTEL_EXPORTER_OTLP_TRACES_HEADERS (`k=v,k2=v2`, values URL-encoded). Never logged. */
  headers: Record<string, string>;
  timeoutMs: number;
}

export interface TelemetryConfig {
  /** host:port of the /metrics, /livez and /readyz listener (DAALU_METRICS_LISTEN), or undefined when off. */
  metricsListen: string | undefined;
  /** OTEL_TRACES_EXPORTER: otlp (the default once an OTLP endpoint is set), console, or none. */
  tracesExporter: "otlp" | "console" | "none";
  otlp: OtlpConfig | undefined;
}

export const DEFAULT_OTLP_TIMEOUT_MS = 10_000;

/** Parses `k=v,k2=v2` (W3C baggage-like, values percent-decoded) as the OTLP spec says. */
function parseHeaders(r: EnvReader, name: string, into: Record<string, string>): void {
  const v = r.optional(name);
  if (v === undefined) return;
  for (const part of v.split(",")) {
    const eq = part.indexOf("=");
    const key = part.slice(0, eq).trim();
    if (eq <= 0 || key === "") {
      // Name the variable, never its value: headers usually carry an API key.
      r.check(false, `${name} must be a comma-separated list of key=value pairs`);
      return;
    }
    try {
      into[key.toLowerCase()] = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      r.check(false, `${name} has a value that is not URL-encoded correctly (key "${key}")`);
    }
  }
}

export function readTelemetry(r: EnvReader): TelemetryConfig {
  const metricsListen = r.hostPort("DAALU_METRICS_LISTEN", "off", { off: true });
  const protocol = r.optional("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") ?? r.optional("OTEL_EXPORTER_OTLP_PROTOCOL") ?? "http/protobuf";
  r.check(protocol === "http/protobuf", `OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf (the only OTLP transport the services speak), got "${protocol}"`);
  const base = r.optional("OTEL_EXPORTER_OTLP_ENDPOINT");
  const full = r.optional("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
  const url = full ?? (base ? `${base.replace(/\/+$/, "")}/v1/traces` : undefined);
  if (url !== undefined) {
    try {
      const u = new URL(url);
      r.check(u.protocol === "http:" || u.protocol === "https:", `the OTLP traces endpoint must be an http(s) URL, got "${u.protocol}"`);
    } catch {
      r.check(false, `${full ? "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" : "OTEL_EXPORTER_OTLP_ENDPOINT"} must be a URL`);
    }
  }
  const tracesExporter = r.oneOf("OTEL_TRACES_EXPORTER", ["otlp", "console", "none"] as const, url !== undefined ? "otlp" : "none");
  r.check(tracesExporter !== "otlp" || url !== undefined, "OTEL_TRACES_EXPORTER=otlp needs OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
  const headers: Record<string, string> = {};
  parseHeaders(r, "OTEL_EXPORTER_OTLP_HEADERS", headers);
  parseHeaders(r, "OTEL_EXPORTER_OTLP_TRACES_HEADERS", headers);
  const timeoutMs = r.int("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", r.int("OTEL_EXPORTER_OTLP_TIMEOUT", DEFAULT_OTLP_TIMEOUT_MS, 1), 1);
  return { metricsListen, tracesExporter, otlp: tracesExporter === "otlp" && url !== undefined ? { url, headers, timeoutMs } : undefined };
}
