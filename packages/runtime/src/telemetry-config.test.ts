import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, EnvReader } from "./config.js";
import { readTelemetry } from "./telemetry-config.js";

const read = (env: Record<string, string>) => {
  const r = new EnvReader(env);
  const t = readTelemetry(r);
  r.done();
  return t;
};

test("no OTEL_* variables: no export, no metrics listener", () => {
  assert.deepEqual(read({}), { metricsListen: undefined, tracesExporter: "none", otlp: undefined });
});

test("OTEL_EXPORTER_OTLP_ENDPOINT turns OTLP export on, at <endpoint>/v1/traces, with the headers URL-decoded", () => {
  const t = read({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/", OTEL_EXPORTER_OTLP_HEADERS: "Authorization=Bearer%20abc, x-scope=t1", DAALU_METRICS_LISTEN: "0.0.0.0:9464" });
  assert.equal(t.tracesExporter, "otlp");
  assert.deepEqual(t.otlp, { url: "http://collector:4318/v1/traces", headers: { authorization: "Bearer abc", "x-scope": "t1" }, timeoutMs: 10_000 });
  assert.equal(t.metricsListen, "0.0.0.0:9464");
});

test("the traces endpoint is used as given and wins over the base endpoint; OTEL_TRACES_EXPORTER=none turns export off", () => {
  assert.equal(read({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://a:4318", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://b/otlp/traces" }).otlp?.url, "https://b/otlp/traces");
  assert.equal(read({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://a:4318", OTEL_TRACES_EXPORTER: "none" }).otlp, undefined);
});

test("every problem at once, never a header's value", () => {
  const r = new EnvReader({ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc", OTEL_TRACES_EXPORTER: "otlp", OTEL_EXPORTER_OTLP_HEADERS: "secret-token-value", DAALU_METRICS_LISTEN: "nope" });
  readTelemetry(r);
  assert.throws(() => r.done(), ConfigError);
  assert.equal(r.problems.length, 4, r.problems.join("\n"));
  assert.ok(r.problems.every((p) => !p.includes("secret-token-value")));
  assert.match(r.problems.join("\n"), /OTEL_EXPORTER_OTLP_PROTOCOL must be http\/protobuf/);
  assert.match(r.problems.join("\n"), /OTEL_TRACES_EXPORTER=otlp needs/);
  assert.match(r.problems.join("\n"), /DAALU_METRICS_LISTEN must be host:port/);
});
