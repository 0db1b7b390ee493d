/** The hub node's EdgeLifecycleService server over real gRPC on loopback (wg-node/goodbye.ts). */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { edgev1 } from "@daalu/proto";
import { Code, DaaluError, createLogger, grpcClient } from "@daalu/runtime";
import { peerIpv4, startGoodbyeServer } from "../src/wg-node/goodbye.js";

const logger = createLogger("goodbye-test", "silent");

describe("the hub's goodbye server", () => {
  it("reads the caller's IPv4 address from every form grpc-js reports", () => {
    assert.equal(peerIpv4("ipv4:10.1.2.3:40000"), "10.1.2.3");
    assert.equal(peerIpv4("10.1.2.3:40000"), "10.1.2.3");
    assert.equal(peerIpv4("ipv6:[::ffff:10.1.2.3]:40000"), "10.1.2.3");
    assert.equal(peerIpv4("[::1]:40000"), undefined);
    assert.equal(peerIpv4("unix:/tmp/x"), undefined);
  });

  it("knows the cluster by the source address alone, and refuses an address that is no cluster's", async (t) => {
    const calls: Array<{ ip: string; reason: edgev1.GoodbyeReason; version: string }> = [];
    let known = new Map([["127.0.0.1", "cluster-1"]]);
    const server = await startGoodbyeServer({
      host: "127.0.0.1",
      port: 0,
      logger,
      onGoodbye: (ip, req) => {
        calls.push({ ip, reason: req.reason, version: req.edgeVersion });
        return Promise.resolve(known.get(ip));
      },
    });
    const client = grpcClient(`127.0.0.1:${server.port}`, edgev1.EdgeLifecycleService, { defaults: { timeoutMs: 2_000 } });
    t.after(async () => {
      client.close();
      await server.close(1_000);
    });
    const res = await client.goodbye({ reason: edgev1.GoodbyeReason.SHUTDOWN, edgeVersion: "9.9.9" });
    assert.equal(res.clusterId, "cluster-1");
    assert.deepEqual(calls, [{ ip: "127.0.0.1", reason: edgev1.GoodbyeReason.SHUTDOWN, version: "9.9.9" }]);
    known = new Map();
    await assert.rejects(client.goodbye({ reason: edgev1.GoodbyeReason.SHUTDOWN }), (err: unknown) => {
      assert.ok(err instanceof DaaluError);
      assert.equal(err.code, Code.NotFound);
      assert.match(err.message, /no cluster has the tunnel address 127\.0\.0\.1/);
      return true;
    });
  });
});
