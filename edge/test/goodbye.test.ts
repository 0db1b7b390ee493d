/** The edge's goodbye call (adapters/goodbye.ts) against a stand-in hub over real gRPC on loopback. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { edgev1 } from "@daalu/proto";
import { bindGrpc, grpc, grpcDefinition, shutdownGrpc } from "@daalu/runtime";
import { sayGoodbye } from "../src/adapters/goodbye.js";

test("sayGoodbye sends reason SHUTDOWN and the edge's version, returns the hub's cluster id, and fails fast without a hub", async (t) => {
  const seen: edgev1.GoodbyeRequest[] = [];
  const server = new grpc.Server();
  const goodbye: grpc.handleUnaryCall<edgev1.GoodbyeRequest, edgev1.GoodbyeResponse> = (call, cb) => {
    seen.push(call.request);
    cb(null, create(edgev1.GoodbyeResponseSchema, { clusterId: "c-1" }));
  };
  server.addService(grpcDefinition(edgev1.EdgeLifecycleService), { goodbye } as grpc.UntypedServiceImplementation);
  const port = await bindGrpc(server, "127.0.0.1:0");
  t.after(() => shutdownGrpc(server, 1_000));

  assert.equal(await sayGoodbye("127.0.0.1", port, 2_000, "1.2.3"), "c-1");
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.reason, edgev1.GoodbyeReason.SHUTDOWN);
  assert.equal(seen[0]!.edgeVersion, "1.2.3");

  // Nothing listening: refused at once, well within the timeout (SIGTERM must not hang on a dead hub).
  await shutdownGrpc(server, 1_000);
  const started = Date.now();
  await assert.rejects(sayGoodbye("127.0.0.1", port, 1_500, "1.2.3"));
  assert.ok(Date.now() - started <= 1_800, `gave up within the timeout (${Date.now() - started} ms)`);
});
