import { test } from "node:test";
import assert from "node:assert/strict";
import { CallerKind, invitev1 } from "@daalu/proto";
import { eventually, setup } from "@daalu/testing";
import { bindGrpc, createLogger, DEFAULT_CALLER, formatCaller, grpc, grpcClient, natsClient, natsSender, serveGrpc, serveNats, type CallOptions, type MethodsOf, type ServiceImpl } from "@daalu/runtime";

const logger = createLogger("runtime-test", "silent");
const SVC = { kind: CallerKind.SERVICE, id: "svc" };
const ALICE = { kind: CallerKind.USER, id: "alice" };

/** Records the caller of every RedeemInvite it serves and answers with it. */
function echo(seen: string[]): ServiceImpl<MethodsOf<typeof invitev1.InviteService>> {
  const no = async () => ({}) as never;
  return {
    createInvite: no,
    listInvites: no,
    revokeInvite: no,
    regenerateInvite: no,
    getRedemption: no,
    async redeemInvite(_req, ctx) {
      seen.push(formatCaller(ctx.caller));
      return { clusterName: formatCaller(ctx.caller) };
    },
  };
}

// The one rule: the call's caller, else the client's defaults.caller, else DEFAULT_CALLER.
const cases: [string, CallOptions | undefined, CallOptions, string][] = [
  ["the call names one", { caller: SVC }, { caller: ALICE }, "user:alice"],
  ["the client's default", { caller: SVC }, {}, "service:svc"],
  ["an explicit undefined caller does not erase the default", { caller: SVC }, { caller: undefined, tenantId: "t" }, "service:svc"],
  ["neither", undefined, {}, formatCaller(DEFAULT_CALLER)],
];

test("NATS clients and senders pick the caller by the one rule", async (t) => {
  const env = await setup();
  t.after(() => env.cleanup());
  const seen: string[] = [];
  const server = await serveNats(env.nc, invitev1.InviteService, echo(seen), { prefix: env.prefix, queue: "q", logger });
  t.after(() => server.drain());
  for (const [name, defaults, call, want] of cases) {
    const client = natsClient(env.nc, invitev1.InviteService, { prefix: env.prefix, ...(defaults ? { defaults } : {}) });
    assert.equal((await client.redeemInvite({}, call)).clusterName, want, `client: ${name}`);
    seen.length = 0;
    natsSender(env.nc, invitev1.InviteService, { prefix: env.prefix, ...(defaults ? { defaults } : {}) }).redeemInvite({}, call);
    await eventually(() => assert.deepEqual(seen, [want], `sender: ${name}`));
  }
});

test("gRPC clients pick the caller by the same rule", async (t) => {
  const server = new grpc.Server();
  serveGrpc(server, invitev1.InviteService, echo([]), logger);
  const port = await bindGrpc(server, "127.0.0.1:0");
  t.after(() => server.forceShutdown());
  for (const [name, defaults, call, want] of cases) {
    const client = grpcClient(`127.0.0.1:${port}`, invitev1.InviteService, defaults ? { defaults } : {});
    try {
      assert.equal((await client.redeemInvite({}, call)).clusterName, want, name);
    } finally {
      client.close();
    }
  }
});
