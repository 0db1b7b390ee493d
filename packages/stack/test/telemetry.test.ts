/**
 * Every hub service, run as production runs it (a process through
 * runService), serves Prometheus metrics and exports its spans over OTLP:
 * - the scrape of each service's /metrics parses with a real exposition-format
 *   parser and carries the series its work produced (RPCs, redemptions, calls
 *   through the tunnel by tenant, audit records stored and pending, NATS);
 * - one request's spans, REST -> NATS -> gRPC -> edge, reach a real OTLP/HTTP
 *   receiver (protobuf decoded with the protocol's own schema) in one trace.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPair } from "@daalu/wireguard";
import { eventually, OtlpSpanKind, setup, startOtlpReceiver, type OtlpReceiver, type TestEnv } from "@daalu/testing";
import { HUB_SERVICES } from "../src/index.js";
import { get, scrape, startTelemetryHub, type TelemetryHub } from "./telemetry-hub.js";

let env: TestEnv;
let otlp: OtlpReceiver;
let hub: TelemetryHub;

before(async () => {
  env = await setup();
  otlp = await startOtlpReceiver();
  hub = await startTelemetryHub(env, otlp);
});

after(async () => {
  await hub?.stop();
  await otlp?.close();
  await env?.cleanup();
});

async function call(method: string, path: string, opts: { json?: unknown; headers?: Record<string, string>; token?: boolean } = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token !== false) headers["authorization"] = `Bearer ${hub.stack.adminToken}`;
  if (opts.json !== undefined) headers["content-type"] = "application/json";
  const r = await fetch(`${hub.stack.gatewayUrl}${path}`, { method, headers, ...(opts.json !== undefined ? { body: JSON.stringify(opts.json) } : {}) });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

test("every service serves /livez, /readyz and /metrics in the Prometheus text format", async () => {
  for (const s of HUB_SERVICES) {
    const port = hub.metricsPorts[s];
    assert.ok(port > 0, `${s}: no metricsPort in its ready line`);
    assert.equal((await get(port, "/livez")).status, 200, s);
    assert.equal((await get(port, "/readyz")).status, 200, s);
    assert.equal((await get(port, "/nope")).status, 404, s);
    const m = await scrape(port);
    assert.equal(m.value("daalu_service_info", { service: s }), 1, `${s}: daalu_service_info`);
    assert.equal(m.families.get("daalu_nats_connected")?.type, "GAUGE", s);
    assert.equal(m.value("daalu_nats_connected"), 1, `${s}: NATS connected`);
    assert.equal(m.families.get("daalu_nats_sent_messages_total")?.type, "COUNTER", s);
    assert.ok((m.value("daalu_nats_received_bytes_total") ?? -1) >= 0, `${s}: NATS bytes received`);
    assert.ok(m.families.has("process_cpu_seconds_total"), `${s}: process metrics`);
    assert.ok(m.families.has("nodejs_eventloop_lag_seconds"), `${s}: event loop lag`);
    assert.equal(m.families.get("daalu_db_pool_connections")?.type, "GAUGE", `${s}: PostgreSQL pool`);
  }
});

test("the work of each service shows in its metrics: RPCs, redemptions, calls by tenant, audit", async () => {
  // An invite, redeemed once, then refused for another key.
  const created = await call("POST", "/v1/clusters", { json: { name: "metered" } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const token = created.body["token"] as string;
  const redeem = (publicKey: string) => call("POST", "/v1/bootstrap", { json: { token, publicKey }, token: false });
  assert.equal((await redeem(generateKeyPair().publicKey)).status, 200);
  const refused = await redeem(generateKeyPair().publicKey);
  assert.equal(refused.status, 409, JSON.stringify(refused.body));
  const reason = refused.body["reason"] as string;

  const invite = await scrape(hub.metricsPorts.invite);
  assert.equal(invite.value("daalu_invite_redemptions_total", { result: "ok" }), 1);
  assert.equal(invite.value("daalu_invite_redemptions_total", { result: reason }), 1, `refusal counted under ${reason}`);
  assert.equal(invite.value("daalu_rpc_server_handled_total", { method: "InviteService/CreateInvite", code: "OK" }), 1);
  assert.equal(invite.families.get("daalu_rpc_server_duration_seconds")?.type, "HISTOGRAM");
  assert.equal(invite.histogramCount("daalu_rpc_server_duration_seconds", { method: "InviteService/RedeemInvite" }), 2);

  // Calls through the tunnel, counted by tenant.
  for (let i = 0; i < 3; i++) assert.equal((await call("GET", `/k8s/clusters/${hub.clusterId}/api/v1/namespaces`)).status, 200);
  const proxy = await scrape(hub.metricsPorts["tunnel-proxy"]);
  assert.equal(proxy.value("daalu_proxy_calls_total", { tenant: "acme", result: "ok" }), 3);
  assert.equal(proxy.histogramCount("daalu_proxy_call_duration_seconds", { tenant: "acme" }), 3);
  assert.ok((proxy.value("daalu_proxy_bytes_total", { tenant: "acme", direction: "out" }) ?? 0) > 0);
  assert.equal(proxy.value("daalu_proxy_calls_in_flight"), 0);

  // Their audit records, stored: nothing pending once they are.
  await eventually(async () => {
    const audit = await scrape(hub.metricsPorts.audit);
    assert.equal(audit.value("daalu_audit_records_stored_total"), 3);
    assert.ok((audit.histogramCount("daalu_audit_write_lag_seconds") ?? 0) >= 1, "write lag observed");
    assert.equal(audit.value("daalu_audit_pending_records", { state: "waiting" }), 0);
    assert.equal(audit.value("daalu_audit_pending_records", { state: "unacked" }), 0);
  });

  // Peering served the gateway's and invite's requests, by method and code.
  const peering = await scrape(hub.metricsPorts.peering);
  assert.ok((peering.value("daalu_rpc_server_handled_total", { method: "PeeringService/CreateCluster", code: "OK" }) ?? 0) >= 1);
  assert.ok((peering.value("daalu_rpc_server_handled_total", { method: "PeeringService/ReserveEnrollment", code: "OK" }) ?? 0) >= 1);
});

test("one request's spans reach an OTLP receiver from gateway, tunnel-proxy and the edge, in one trace", async () => {
  const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
  const r = await call("GET", `/v1/clusters/${hub.clusterId}/edge`, { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body["version"], "0.0.0-telemetry");

  const spans = await eventually(() => {
    const s = otlp.spans.filter((x) => x.traceId === traceId);
    const seen = s.map((x) => `${x.service}:${x.name}`);
    for (const want of ["gateway:GET /v1/clusters/:id/edge", "tunnel-proxy:daalu.query.v1.QueryService/GetEdgeStatus", "daalu-edge:daalu.edge.v1.EdgeService/GetStatus"]) {
      assert.ok(seen.some((x) => x === want || x.startsWith(want)), `${want} not among ${seen.join(", ")}`);
    }
    return s;
  });
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  // Each hop is the child of a span of the hop before: the chain climbs from the edge to the caller's span.
  let hop = spans.find((s) => s.service === "daalu-edge")!;
  assert.equal(hop.kind, OtlpSpanKind.SERVER);
  const services = [hop.service];
  while (byId.has(hop.parentSpanId)) {
    hop = byId.get(hop.parentSpanId)!;
    if (services.at(-1) !== hop.service) services.push(hop.service);
  }
  assert.deepEqual(services, ["daalu-edge", "tunnel-proxy", "gateway"]);
  assert.equal(hop.parentSpanId, "00f067aa0ba902b7", "the gateway's span continues the caller's trace");
  // OTEL_EXPORTER_OTLP_HEADERS reached the receiver (URL-decoded), on the services' exports.
  assert.ok(otlp.requests.some((h) => h["x-otlp-tenant"] === "daalu test"));
});
