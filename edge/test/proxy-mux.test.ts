import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { edgev1 } from "@daalu/proto";
import { createLogger, grpc } from "@daalu/runtime";
import { eventually } from "@daalu/testing";
import { startKubeDouble, type KubeDouble } from "@daalu/kube-double";
import { startProxyServer } from "./helpers.js";

// The edge's ProxyMux stream fed raw bytes, as a broken or hostile hub could
// send them: a frame that does not decode fails its call, never the stream.

let kube: KubeDouble;
let proxy: Awaited<ReturnType<typeof startProxyServer>>;

before(async () => {
  kube = await startKubeDouble();
  proxy = await startProxyServer({ apiServer: { server: kube.url, ca: kube.ca!, token: "edge-proxy-token" }, ownNamespace: "daalu-edge", logger: createLogger("edge", "silent") });
});
after(async () => {
  proxy?.close();
  await kube?.close();
});

const MUX = `/${edgev1.EdgeService.typeName}/${edgev1.EdgeService.method.proxyMux.name}`;
const open = (callId: number) =>
  Buffer.from(
    toBinary(
      edgev1.ProxyMuxRequestSchema,
      create(edgev1.ProxyMuxRequestSchema, { callId, frame: { case: "open", value: { request: { target: "kubernetes", method: "GET", path: "/api/v1/namespaces/default/pods" }, acceptsReply: true } } }),
    ),
  );

test("a malformed frame fails the call it names with INVALID_ARGUMENT; the stream and its other calls go on", async () => {
  const client = proxy.client as unknown as grpc.Client;
  const stream = client.makeBidiStreamRequest(MUX, (b: Buffer) => b, (b: Buffer) => fromBinary(edgev1.ProxyMuxResponseSchema, b));
  const frames: edgev1.ProxyMuxResponse[] = [];
  let ended: unknown;
  stream.on("data", (f: edgev1.ProxyMuxResponse) => frames.push(f));
  stream.on("error", (e) => (ended = e));
  stream.on("end", () => (ended ??= "end"));
  const good = open(6);
  stream.write(good.subarray(0, good.length - 4)); // cut short, call id 6 readable
  stream.write(Buffer.of(0x0f)); // no call id at all: logged, nothing to answer
  stream.write(Buffer.of(0x08, 0x07, 0x12, 0x7f)); // call 7, a length past the end
  stream.write(open(8));
  await eventually(() => assert.ok(frames.some((f) => f.callId === 8 && f.frame.case === "reply"), JSON.stringify(frames.map((f) => [f.callId, f.frame.case]))));
  const of = (id: number) => frames.filter((f) => f.callId === id).map((f) => f.frame);
  for (const id of [6, 7]) {
    const fs = of(id);
    assert.equal(fs.length, 1, `call ${id}: ${JSON.stringify(fs.map((f) => f.case))}`);
    assert.equal(fs[0]!.case, "error");
    assert.equal(fs[0]!.case === "error" && fs[0]!.value.code, grpc.status.INVALID_ARGUMENT);
    assert.match(fs[0]!.case === "error" ? fs[0]!.value.message : "", /^malformed ProxyMuxRequest at byte \d+: /);
  }
  const reply = of(8)[0]!;
  assert.equal(reply.case === "reply" && reply.value.head?.status, 200);
  assert.equal(frames[0]?.frame.case, "hello");
  assert.equal(frames.filter((f) => f.callId === 0).length, 1, "only the hello has no call id");
  assert.equal(ended, undefined);
  stream.cancel();
});
