/**
 * The far end of `bench hops`: a process of its own that echoes what it gets
 * on each transport the proxy's hot path uses, so the bench can time one
 * round trip per hop at one caller.
 *
 *   HOPS_NATS_URL=nats://… node --import tsx bench/lib/hops-peer.ts
 *
 * - TCP: every chunk read is written back (loopback, TCP_NODELAY).
 * - NATS: `hops.echo` is answered on the message's reply subject.
 * - gRPC: `/hops.Echo/Echo`, a bidi stream echoing each message (as ProxyMux
 *   carries every call on one long-lived stream).
 * Logs one JSON line `{"msg":"ready","tcp":N,"grpc":N}`, then serves until SIGTERM.
 */
import { createServer } from "node:net";
import { bindGrpc, connectNats, createLogger, grpc } from "@daalu/runtime";
import { ECHO_SERVICE, ECHO_SUBJECT } from "./hops-echo.js";

const natsUrl = process.env["HOPS_NATS_URL"];
if (!natsUrl) {
  process.stderr.write("HOPS_NATS_URL is required\n");
  process.exit(2);
}
const tcp = createServer({ noDelay: true }, (s) => s.on("data", (b) => s.write(b)));
await new Promise<void>((r) => tcp.listen(0, "127.0.0.1", r));

const nc = await connectNats(natsUrl, "hops-peer", createLogger("hops-peer", "warn"));
nc.subscribe(ECHO_SUBJECT, { callback: (err, m) => void (err || m.respond(m.data)) });
await nc.flush();

const server = new grpc.Server();
server.addService(ECHO_SERVICE, {
  echo: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
    call.on("data", (b: Buffer) => call.write(b));
    call.on("end", () => call.end());
  },
});
const grpcPort = await bindGrpc(server, "127.0.0.1:0");

const address = tcp.address();
process.stdout.write(`${JSON.stringify({ msg: "ready", tcp: typeof address === "object" && address ? address.port : 0, grpc: grpcPort })}\n`);
for (const sig of ["SIGTERM", "SIGINT"] as const)
  process.once(sig, () => {
    tcp.close();
    server.forceShutdown();
    void nc.close().finally(() => process.exit(0));
  });
