import { after, test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { CallerKind, edgev1 } from "@daalu/proto";
import { bindGrpc, createLogger, grpc, grpcDefinition } from "@daalu/runtime";
import { eventually, setup } from "@daalu/testing";
import { EdgeClients } from "../src/adapters/grpc/edge-client.js";
import { serveSessions } from "../src/adapters/nats/session-handler.js";
import { sessionCall } from "../src/session-client.js";

// A session whose caller does not read: the edge's writes must stop after a bounded number of bytes (the caller's
// NATS credit, the sessions' HTTP/2 window and grpc-js's buffers), not run on to the end of a large download, and
// what was held back then arrives byte-exact once the caller reads. The edge here is a stand-in that writes 256 KiB
// data frames as fast as its call takes them (what the real edge's batches are), so every byte it got rid of is
// held somewhere between it and the caller.

const env = await setup();
const FRAME = 256 * 1024;
const TOTAL_FRAMES = 256; // 64 MiB, far beyond every window on the way
/** What the windows and buffers on the way add up to (NATS 1 MiB, HTTP/2 1 MiB, grpc-js's 16-message buffers each side), with room. */
const BOUND = 12 * 1024 * 1024;

let accepted = 0;
const server = new grpc.Server();
const def = grpcDefinition(edgev1.EdgeSessionService)[edgev1.EdgeSessionService.method.session.localName]!;
const path = `/${edgev1.EdgeSessionService.typeName}/${edgev1.EdgeSessionService.method.session.name}`;
const frame = (k: number) => create(edgev1.SessionResponseSchema, { frame: { case: "data", value: { data: Buffer.alloc(FRAME, k & 0xff) } } });
const handler = (call: grpc.ServerDuplexStream<edgev1.SessionRequest, edgev1.SessionResponse>) => {
  let k = 0;
  const pump = () => {
    while (k < TOTAL_FRAMES && !call.cancelled) {
      accepted += FRAME;
      if (!call.write(frame(k++))) return void call.once("drain", pump);
    }
    if (k === TOTAL_FRAMES) call.write(create(edgev1.SessionResponseSchema, { frame: { case: "halfClose", value: {} } }));
  };
  call.once("data", () => {
    call.write(create(edgev1.SessionResponseSchema, { frame: { case: "head", value: { status: 101 } } }));
    pump();
  });
  call.on("error", () => undefined);
};
server.register(path, handler as grpc.UntypedHandleCall, def.responseSerialize as grpc.serialize<unknown>, def.requestDeserialize as grpc.deserialize<unknown>, "bidi");
const addr = `127.0.0.1:${await bindGrpc(server, "127.0.0.1:0")}`;
const edges = new EdgeClients();
const sessions = serveSessions({
  nc: env.nc,
  prefix: env.prefix,
  queue: "session-backpressure",
  edges,
  edgeAddress: () => Promise.resolve(addr),
  instance: "session-backpressure-test",
  audit: { publish: () => Promise.resolve({ seq: 1, duplicate: false }) },
  auditDeadlineMs: 5_000,
  headTimeoutMs: 5_000,
  sessions: { perTenant: 0, perCluster: 0, idleTimeoutMs: 60_000, maxDurationMs: 600_000 },
  logger: createLogger("session-backpressure", "silent"),
});
after(async () => {
  await sessions.drain();
  edges.close();
  server.forceShutdown();
  await env.cleanup();
});

test("a caller that does not read stops the edge after a bounded number of bytes; reading then gets every byte in order", { timeout: 60_000 }, async (t) => {
  const s = await sessionCall(env.nc, { method: "GET", path: "/api/v1/namespaces/default/pods/p/portforward?ports=80", headers: [] }, { prefix: env.prefix, tenantId: "t1", clusterId: "c1", caller: { kind: CallerKind.USER, id: "u" }, timeoutMs: 5_000 });
  assert.equal(s.status, 101);
  // Held until the figure stops moving: the edge is blocked, not slow.
  await eventually(
    async () => {
      const seen = accepted;
      await new Promise((r) => setTimeout(r, 250));
      assert.ok(seen > 0 && seen === accepted, `still moving: ${seen} -> ${accepted}`);
    },
    { timeoutMs: 20_000 },
  );
  t.diagnostic(`the edge got rid of ${(accepted / 1048576).toFixed(2)} MiB before it was held`);
  assert.ok(accepted <= BOUND, `${accepted} bytes left the edge while nobody read (bound ${BOUND})`);
  assert.ok(accepted < TOTAL_FRAMES * FRAME);

  let got = 0;
  for (let d = await s.channel.read(); d !== null; d = await s.channel.read()) {
    for (let i = 0; i < d.length; i += 4096) assert.equal(d[i], Math.floor((got + i) / FRAME) & 0xff, `byte ${got + i}`);
    assert.equal(d.at(-1), Math.floor((got + d.length - 1) / FRAME) & 0xff);
    got += d.length;
  }
  assert.equal(got, TOTAL_FRAMES * FRAME);
  s.channel.close("done");
});
