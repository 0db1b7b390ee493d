/**
 * Without an exporter (the services' default) spans record nothing but must
 * still carry the trace: one trace id across hops, a new span id per hop, the
 * parent's sampled flag kept. Its own file: tracing is set up once per process.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { invitev1 } from "@daalu/proto";
import { setup } from "@daalu/testing";
import { Code, DaaluError, createLogger, initTracing, injectTrace, natsClient, propagation, context, serveNats, trace, tracer, withSpan, type ServiceImpl, type MethodsOf } from "@daalu/runtime";

initTracing({ serviceName: "runtime-trace-test" });
const logger = createLogger("runtime-trace-test", "silent");

function traceparentOf(ctx = context.active()): string {
  const h: Record<string, string> = {};
  injectTrace({ get: (k) => h[k], set: (k, v) => (h[k] = v), keys: () => Object.keys(h) }, ctx);
  return h["traceparent"] ?? "";
}

test("without an exporter spans carry the trace over NATS: same trace id, new span id, sampled", async (t) => {
  const env = await setup();
  t.after(() => env.cleanup());
  const seen: string[] = [];
  const u = async () => {
    throw new DaaluError(Code.Unimplemented, "not here");
  };
  const impl: ServiceImpl<MethodsOf<typeof invitev1.InviteService>> = {
    createInvite: u,
    listInvites: u,
    revokeInvite: u,
    regenerateInvite: u,
    getRedemption: u,
    async redeemInvite() {
      seen.push(traceparentOf());
      return {};
    },
  };
  const server = await serveNats(env.nc, invitev1.InviteService, impl, { prefix: env.prefix, queue: "invite", logger });
  t.after(() => server.drain());
  await env.nc.flush();
  const client = natsClient(env.nc, invitev1.InviteService, { prefix: env.prefix });

  const root = await withSpan("root", {}, async (span) => {
    await client.redeemInvite({});
    return span.spanContext();
  });
  assert.match(root.traceId, /^[0-9a-f]{32}$/);
  assert.notEqual(root.traceId, "0".repeat(32));
  assert.equal(span(seen[0]!).traceId, root.traceId);
  assert.notEqual(span(seen[0]!).spanId, root.spanId);
  assert.equal(span(seen[0]!).flags, "01");

  // An incoming unsampled parent stays unsampled downstream.
  const unsampled = propagation.extract(context.active(), { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00" });
  await context.with(unsampled, () => client.redeemInvite({}));
  assert.equal(span(seen[1]!).traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
  assert.equal(span(seen[1]!).flags, "00");
});

test("a root span outside any trace starts a new one each time", () => {
  const a = tracer().startSpan("a").spanContext();
  const b = tracer().startSpan("b").spanContext();
  assert.notEqual(a.traceId, b.traceId);
  assert.ok(trace.isSpanContextValid(a) && trace.isSpanContextValid(b));
});

function span(traceparent: string): { traceId: string; spanId: string; flags: string } {
  const [, traceId, spanId, flags] = traceparent.split("-");
  return { traceId: traceId!, spanId: spanId!, flags: flags! };
}
