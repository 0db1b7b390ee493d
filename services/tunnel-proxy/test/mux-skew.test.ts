import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { edgev1 } from "@daalu/proto";
import { bindGrpc, createLogger, grpc } from "@daalu/runtime";
import { EDGE_NAMESPACE, startKubeDouble, type KubeDouble } from "@daalu/kube-double";
import { registerProxy } from "@daalu/edge/proxy";
import { EdgeClients } from "../src/adapters/grpc/edge-client.js";

// MuxReply (head, body and end of a small answer in one ProxyMux frame) across
// versions: the edge sends it only to a hub whose MuxOpen says accepts_reply,
// and the hub still reads edges that never send it.

const MUX = `/${edgev1.EdgeService.typeName}/${edgev1.EdgeService.method.proxyMux.name}`;
let kube: KubeDouble;
const servers: grpc.Server[] = [];
const closers: (() => void)[] = [];

before(async () => {
  kube = await startKubeDouble();
});
after(async () => {
  for (const c of closers) c();
  for (const s of servers) s.forceShutdown();
  await kube?.close();
});

async function serve(register: (s: grpc.Server) => void): Promise<string> {
  const server = new grpc.Server();
  register(server);
  servers.push(server);
  return `127.0.0.1:${await bindGrpc(server, "127.0.0.1:0")}`;
}

const podsRequest = create(edgev1.ProxyRequestSchema, { target: "kubernetes", method: "GET", path: "/api/v1/namespaces/default/pods", headers: [{ name: "Accept", value: "application/json" }] });

/** The frame cases a real edge sends for one read, to a hub that says `acceptsReply` or not (a hub of the previous contract). */
async function framesFromEdge(addr: string, acceptsReply: boolean): Promise<{ cases: string[]; body: string }> {
  const client = new grpc.Client(addr, grpc.credentials.createInsecure());
  closers.push(() => client.close());
  const stream = client.makeBidiStreamRequest(
    MUX,
    (m: edgev1.ProxyMuxRequest) => Buffer.from(toBinary(edgev1.ProxyMuxRequestSchema, m)),
    (b: Buffer) => fromBinary(edgev1.ProxyMuxResponseSchema, b),
  );
  const cases: string[] = [];
  let body = "";
  const done = new Promise<void>((resolve, reject) => {
    stream.on("data", (f: edgev1.ProxyMuxResponse) => {
      if (f.callId !== 1) return;
      cases.push(f.frame.case ?? "?");
      if (f.frame.case === "chunk") body += Buffer.from(f.frame.value.data).toString();
      if (f.frame.case === "reply") body += Buffer.from(f.frame.value.body).toString();
      if (f.frame.case === "end" || f.frame.case === "reply" || f.frame.case === "error") resolve();
    });
    stream.on("error", reject);
  });
  stream.write(create(edgev1.ProxyMuxRequestSchema, { callId: 1, frame: { case: "open", value: { request: podsRequest, windowBytes: 1 << 20, deadlineMs: 10_000, acceptsReply } } }));
  await done;
  stream.cancel();
  stream.on("error", () => undefined);
  return { cases, body };
}

test("the edge answers a small read in one MuxReply to a hub that accepts it, and as head, chunk, end to a hub of the previous contract", async () => {
  const addr = await serve((s) => registerProxy(s, { apiServer: { server: kube.url, ca: kube.ca!, token: "edge-proxy-token" }, ownNamespace: EDGE_NAMESPACE, logger: createLogger("edge", "silent") }));
  const now = await framesFromEdge(addr, true);
  assert.deepEqual(now.cases, ["reply"]);
  assert.equal(JSON.parse(now.body).kind, "PodList");
  const old = await framesFromEdge(addr, false);
  assert.deepEqual(old.cases, ["head", "chunk", "end"]);
  assert.equal(old.body, now.body);
});

test("the hub reads an edge that never sends MuxReply (the previous contract), and tells edges it accepts one", async () => {
  const opens: edgev1.MuxOpen[] = [];
  // An edge of the previous contract: hello, then head, chunk and end for every call, whatever MuxOpen says.
  const addr = await serve((s) =>
    s.register(
      MUX,
      (stream: grpc.ServerDuplexStream<edgev1.ProxyMuxRequest, edgev1.ProxyMuxResponse>) => {
        const send = (callId: number, frame: MessageInitShape<typeof edgev1.ProxyMuxResponseSchema>["frame"]) => stream.write(create(edgev1.ProxyMuxResponseSchema, { callId, frame }));
        stream.on("data", (f: edgev1.ProxyMuxRequest) => {
          if (f.frame.case !== "open") return;
          opens.push(f.frame.value);
          send(f.callId, { case: "head", value: { status: 200, headers: [{ name: "content-type", value: "application/json" }] } });
          send(f.callId, { case: "chunk", value: { data: new TextEncoder().encode(`{"path":"${f.frame.value.request?.path}"}`) } });
          send(f.callId, { case: "end", value: {} });
        });
        stream.on("error", () => undefined);
        send(0, { case: "hello", value: { edgeVersion: "previous" } });
      },
      (m: edgev1.ProxyMuxResponse) => Buffer.from(toBinary(edgev1.ProxyMuxResponseSchema, m)),
      (b: Buffer) => fromBinary(edgev1.ProxyMuxRequestSchema, b),
      "bidi",
    ),
  );
  const edges = new EdgeClients();
  closers.push(() => edges.close());
  const call = await edges.proxy(addr, toBinary(edgev1.ProxyRequestSchema, podsRequest), () => new grpc.Metadata(), Date.now() + 10_000);
  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    let status = 0;
    let body = "";
    call.on("data", (m) => {
      if (m.frame.case === "head") status = m.frame.value.status;
      if (m.frame.case === "chunk") body += Buffer.from(m.frame.value.data).toString();
    });
    call.on("end", () => resolve({ status, body }));
    call.on("error", reject);
  });
  assert.deepEqual(answer, { status: 200, body: `{"path":"${podsRequest.path}"}` });
  assert.equal(opens.length, 1);
  assert.equal(opens[0]!.acceptsReply, true);
});
