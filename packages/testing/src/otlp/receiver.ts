/**
 * An OTLP/HTTP trace receiver for tests: what an OpenTelemetry collector's
 * `otlp` receiver does on POST /v1/traces, decoding the protobuf body with
 * the official protocol schema (testdata/otlp-proto, generated into ./gen by
 * buf) and answering ExportTraceServiceResponse. Services export to it with
 * the standard OTEL_EXPORTER_OTLP_ENDPOINT.
 */
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ExportTraceServiceRequestSchema, ExportTraceServiceResponseSchema } from "./gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import type { AnyValue, KeyValue } from "./gen/opentelemetry/proto/common/v1/common_pb.js";
import { Span_SpanKind } from "./gen/opentelemetry/proto/trace/v1/trace_pb.js";

export { Span_SpanKind as OtlpSpanKind };

/** One received span, flattened. */
export interface ReceivedSpan {
  /** The resource's service.name. */
  service: string;
  traceId: string;
  spanId: string;
  /** "" for a root span. */
  parentSpanId: string;
  name: string;
  kind: Span_SpanKind;
  attributes: Record<string, string | number | boolean>;
}

export interface OtlpReceiver {
  /** The base URL for OTEL_EXPORTER_OTLP_ENDPOINT. */
  url: string;
  spans: ReceivedSpan[];
  /** Headers of every export request (to check OTEL_EXPORTER_OTLP_HEADERS). */
  requests: IncomingHttpHeaders[];
  close(): Promise<void>;
}

function scalar(v: AnyValue | undefined): string | number | boolean {
  switch (v?.value.case) {
    case "stringValue":
    case "boolValue":
    case "doubleValue":
      return v.value.value;
    case "intValue":
      return Number(v.value.value);
    default:
      return "";
  }
}

function attrs(list: KeyValue[]): Record<string, string | number | boolean> {
  return Object.fromEntries(list.map((kv) => [kv.key, scalar(kv.value)]));
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const requests: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/v1/traces" || req.headers["content-type"] !== "application/x-protobuf") {
        res.writeHead(req.url === "/v1/traces" ? 415 : 404).end();
        return;
      }
      requests.push(req.headers);
      let body = Buffer.concat(chunks);
      if (req.headers["content-encoding"] === "gzip") body = gunzipSync(body);
      const msg = fromBinary(ExportTraceServiceRequestSchema, body);
      for (const rs of msg.resourceSpans) {
        const service = String(scalar(rs.resource?.attributes.find((a) => a.key === "service.name")?.value));
        for (const ss of rs.scopeSpans) {
          for (const s of ss.spans) {
            spans.push({ service, traceId: hex(s.traceId), spanId: hex(s.spanId), parentSpanId: hex(s.parentSpanId), name: s.name, kind: s.kind, attributes: attrs(s.attributes) });
          }
        }
      }
      res.writeHead(200, { "content-type": "application/x-protobuf" }).end(toBinary(ExportTraceServiceResponseSchema, create(ExportTraceServiceResponseSchema)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
