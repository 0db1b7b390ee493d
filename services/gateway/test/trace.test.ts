import { test } from "node:test";
import assert from "node:assert/strict";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { initTracing, SpanKind } from "@daalu/runtime";
import { eventually, setup } from "@daalu/testing";
import { http, seedTenant, startStack } from "./helpers.js";

// One trace spans REST -> NATS -> invite -> NATS -> peering: all three services
// run in this process and report to one in-memory exporter.
const exporter = new InMemorySpanExporter();
initTracing({ serviceName: "gateway-trace-test", testExporter: exporter });

test("an incoming traceparent is continued through gateway, invite and peering", async (t) => {
  const env = await setup();
  t.after(() => env.cleanup());
  const tokens = await seedTenant(env, "acme");
  const stack = await startStack(env);
  t.after(() => stack.stop());

  const traceId = "0af7651916cd43dd8448eb211c80319c";
  const traceparent = `00-${traceId}-b7ad6b7169203331-01`;
  const r = await http(stack.gw.url, "POST", "/v1/clusters", { token: tokens.admin, json: { name: "traced" }, headers: { traceparent } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.headers.get("x-trace-id"), traceId);

  const spans = await eventually(() => {
    const s = exporter.getFinishedSpans().filter((x) => x.spanContext().traceId === traceId);
    const names = s.map((x) => `${x.kind}:${x.name}`);
    assert.ok(names.includes(`${SpanKind.SERVER}:POST /v1/clusters`), names.join(", "));
    assert.ok(names.includes(`${SpanKind.SERVER}:daalu.invite.v1.InviteService/CreateInvite`), names.join(", "));
    assert.ok(names.includes(`${SpanKind.SERVER}:daalu.peering.v1.PeeringService/CreateCluster`), names.join(", "));
    return s;
  });
  // The gateway's span is the child of the caller's span id, so the trace joins the caller's.
  const gwSpan = spans.find((s) => s.name === "POST /v1/clusters")!;
  assert.equal(gwSpan.parentSpanContext?.spanId, "b7ad6b7169203331");

  // The public bootstrap flow joins one trace too (invite -> peering reserve + commit).
  const bootTrace = "1af7651916cd43dd8448eb211c80319d";
  const b = await http(stack.gw.url, "POST", "/v1/bootstrap", {
    json: { token: r.body.token, publicKey: Buffer.alloc(32, 9).toString("base64") },
    headers: { traceparent: `00-${bootTrace}-c7ad6b7169203331-01` },
  });
  assert.equal(b.status, 200, JSON.stringify(b.body));
  await eventually(() => {
    const names = exporter.getFinishedSpans().filter((x) => x.spanContext().traceId === bootTrace && x.kind === SpanKind.SERVER).map((x) => x.name);
    for (const n of ["POST /v1/bootstrap", "daalu.invite.v1.InviteService/RedeemInvite", "daalu.peering.v1.PeeringService/ReserveEnrollment", "daalu.peering.v1.PeeringService/CommitEnrollment"]) {
      assert.ok(names.includes(n), `${n} missing from ${names.join(", ")}`);
    }
  });
});
