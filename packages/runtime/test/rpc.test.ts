import { test } from "node:test";
import assert from "node:assert/strict";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { CallerKind, invitev1 } from "@daalu/proto";
import { eventually, setup } from "@daalu/testing";
import {
  Code,
  DaaluError,
  activeTraceId,
  bindGrpc,
  connectNats,
  createLogger,
  grpc,
  grpcClient,
  initTracing,
  natsClient,
  natsSender,
  serveGrpc,
  serveNats,
  withSpan,
  type ServiceImpl,
  type MethodsOf,
} from "@daalu/runtime";

const exporter = new InMemorySpanExporter();
initTracing({ serviceName: "runtime-test", testExporter: exporter });
const logger = createLogger("runtime-test", "silent");

type InviteMethods = MethodsOf<typeof invitev1.InviteService>;

// A toy implementation: it echoes context back so the test can see what travelled.
function impl(): ServiceImpl<InviteMethods> {
  const unimplemented = async () => {
    throw new DaaluError(Code.Unimplemented, "not here");
  };
  return {
    createInvite: unimplemented,
    listInvites: unimplemented,
    revokeInvite: unimplemented,
    regenerateInvite: unimplemented,
    getRedemption: unimplemented,
    async redeemInvite(req, ctx) {
      if (req.token === "expired") throw new DaaluError(Code.FailedPrecondition, "token expired", { reason: "TOKEN_EXPIRED", httpStatus: 410 });
      if (req.token === "boom") throw new Error("secret internals");
      return { tenantId: ctx.tenantId, clusterName: `${ctx.caller.kind}:${ctx.caller.id}`, tunnelIp: req.publicKey };
    },
  };
}

test("NATS RPC carries tenant, caller, errors and one trace across hops", async (t) => {
  const env = await setup();
  t.after(() => env.cleanup());
  const server = await serveNats(env.nc, invitev1.InviteService, impl(), { prefix: env.prefix, queue: "invite", logger });
  t.after(() => server.drain());
  const client = natsClient(env.nc, invitev1.InviteService, { prefix: env.prefix });

  const res = await withSpan("root", {}, () =>
    client.redeemInvite({ token: "ok", publicKey: "k" }, { tenantId: "acme", caller: { kind: CallerKind.USER, id: "alice" } }),
  );
  assert.equal(res.tenantId, "acme");
  assert.equal(res.clusterName, `${CallerKind.USER}:alice`);
  assert.equal(res.tunnelIp, "k");

  await assert.rejects(client.redeemInvite({ token: "expired" }), (e: DaaluError) => e.code === Code.FailedPrecondition && e.reason === "TOKEN_EXPIRED" && e.httpStatus === 410 && e.message === "token expired");
  await assert.rejects(client.redeemInvite({ token: "boom" }), (e: DaaluError) => e.code === Code.Internal && !e.message.includes("secret"));

  const spans = exporter.getFinishedSpans();
  const root = spans.find((s) => s.name === "root")!;
  const serverSpan = spans.find((s) => s.name === "daalu.invite.v1.InviteService/RedeemInvite" && s.kind === 1 /* SERVER */)!;
  assert.ok(serverSpan, "server span recorded");
  assert.equal(serverSpan.spanContext().traceId, root.spanContext().traceId);
});

test("NATS RPC to a service nobody serves is Unavailable", async (t) => {
  const env = await setup();
  t.after(() => env.cleanup());
  const client = natsClient(env.nc, invitev1.InviteService, { prefix: env.prefix });
  // The message may reach a person (problem+json): it names the service, never the internal subject, which stays in `cause` for logs.
  await assert.rejects(client.redeemInvite({ token: "x" }), (e: DaaluError) => e.code === Code.Unavailable && !/daalu\./.test(e.message) && /InviteService/.test(e.message) && String(e.cause).includes("daalu.invite.v1.RedeemInvite"));
});

test("a service connection (no async traces) still maps no responders and timeouts", async (t) => {
  const env = await setup();
  t.after(() => env.cleanup());
  const nc = await connectNats(env.natsUrl, "runtime-test", logger);
  t.after(() => nc.close());
  const client = natsClient(nc, invitev1.InviteService, { prefix: env.prefix });
  await assert.rejects(client.redeemInvite({ token: "x" }), (e: DaaluError) => e.code === Code.Unavailable);
  // A server that never answers: the caller's own deadline ends the request.
  const slow: ServiceImpl<InviteMethods> = { ...impl(), redeemInvite: () => new Promise(() => undefined) };
  await serveNats(env.nc, invitev1.InviteService, slow, { prefix: env.prefix, queue: "invite", logger });
  await env.nc.flush();
  await assert.rejects(client.redeemInvite({ token: "x" }, { timeoutMs: 200 }), (e: DaaluError) => e.code === Code.DeadlineExceeded);
});

test("a handler's signal aborts at the caller's deadline; a closed connection fails its pending calls at once", async (t) => {
  const env = await setup();
  t.after(() => env.cleanup());
  let aborted: unknown;
  const hang: ServiceImpl<InviteMethods> = {
    ...impl(),
    redeemInvite: (_req, ctx) =>
      new Promise((_resolve, reject) =>
        ctx.signal.addEventListener("abort", () => {
          aborted = ctx.signal.reason;
          reject(ctx.signal.reason);
        }),
      ),
  };
  await serveNats(env.nc, invitev1.InviteService, hang, { prefix: env.prefix, queue: "invite", logger });
  await env.nc.flush();
  const nc = await connectNats(env.natsUrl, "runtime-test", logger);
  const client = natsClient(nc, invitev1.InviteService, { prefix: env.prefix });
  const started = Date.now();
  await assert.rejects(client.redeemInvite({ token: "x" }, { timeoutMs: 150 }), (e: DaaluError) => e.code === Code.DeadlineExceeded);
  await eventually(() => assert.ok(aborted instanceof DaaluError && aborted.code === Code.DeadlineExceeded, "the server-side signal aborted"));
  assert.ok(Date.now() - started < 2_000);
  const pending = client.redeemInvite({ token: "x" }, { timeoutMs: 60_000 });
  await nc.close();
  await assert.rejects(pending, (e: DaaluError) => e.code === Code.Unavailable);
});

test("a one-way send reaches the handler with tenant, caller and trace, and waits for nothing", async (t) => {
  const env = await setup();
  t.after(() => env.cleanup());
  const seen: Array<{ tenant: string; caller: string; token: string; traceId: string }> = [];
  const server = await serveNats(
    env.nc,
    invitev1.InviteService,
    {
      ...impl(),
      async redeemInvite(req, ctx) {
        seen.push({ tenant: ctx.tenantId, caller: ctx.caller.id, token: req.token, traceId: activeTraceId() });
        throw new DaaluError(Code.FailedPrecondition, "nobody reads this answer");
      },
    },
    { prefix: env.prefix, queue: "invite", logger },
  );
  t.after(() => server.drain());
  await env.nc.flush();
  const errors: unknown[] = [];
  const send = natsSender(env.nc, invitev1.InviteService, { prefix: env.prefix, defaults: { caller: { kind: CallerKind.SERVICE, id: "svc" } }, onError: (e) => errors.push(e) });
  const traceId = await withSpan("root", {}, async () => {
    send.redeemInvite({ token: "one-way" }, { tenantId: "acme" });
    return activeTraceId();
  });
  await eventually(() => assert.deepEqual(seen, [{ tenant: "acme", caller: "svc", token: "one-way", traceId: seen[0]?.traceId ?? "" }]));
  assert.equal(seen[0]!.traceId, traceId);
  assert.deepEqual(errors, []);
});

test("gRPC adapter maps the same errors and context", async (t) => {
  const server = new grpc.Server();
  serveGrpc(server, invitev1.InviteService, impl(), logger);
  const port = await bindGrpc(server, "127.0.0.1:0");
  t.after(() => server.forceShutdown());
  const client = grpcClient(`127.0.0.1:${port}`, invitev1.InviteService);
  t.after(() => client.close());
  const res = await client.redeemInvite({ token: "ok", publicKey: "p" }, { tenantId: "acme", caller: { kind: CallerKind.AGENT, id: "bot" } });
  assert.equal(res.tenantId, "acme");
  assert.equal(res.clusterName, `${CallerKind.AGENT}:bot`);
  await assert.rejects(client.redeemInvite({ token: "expired" }), (e: DaaluError) => e.reason === "TOKEN_EXPIRED" && e.httpStatus === 410);
  await assert.rejects(client.listInvites({}), (e: DaaluError) => e.code === Code.Unimplemented);
});
