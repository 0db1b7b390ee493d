/**
 * The floor's edge (bench proxy-floor): a grpc-js server with one bidi
 * method on the edge's tunnel address; per frame one request on an undici
 * Pool (TLS, keep-alive, 64 connections, as the edge's) to the API server
 * through a legacy-API dispatch handler (what undici's core calls natively,
 * as the edge's upstream does: no body stream per call), the body
 * collected, one frame back with the id, status and body.
 *
 *   FLOOR_HOST FLOOR_API_SERVER FLOOR_API_CA_FILE FLOOR_API_TOKEN  -> logs {"msg":"ready","port":N}
 */
import { readFileSync } from "node:fs";
import { Pool, type Dispatcher } from "undici";
import { createLogger, grpc } from "@daalu/runtime";
import { decodeCall, encodeAnswer, FLOOR_MUX_PATH, frame, unframe } from "./floor-wire.js";

const env = process.env;
const logger = createLogger("floor-edge", env["LOG_LEVEL"] ?? "info");
const token = env["FLOOR_API_TOKEN"]!;
const pool = new Pool(env["FLOOR_API_SERVER"]!, { connections: 64, headersTimeout: 0, bodyTimeout: 0, keepAliveTimeout: 60_000, connect: { ca: readFileSync(env["FLOOR_API_CA_FILE"]!) } });

const asIs = (b: Buffer) => b;
const mux: grpc.ServiceDefinition = {
  mux: { path: FLOOR_MUX_PATH, requestStream: true, responseStream: true, requestSerialize: asIs, requestDeserialize: asIs, responseSerialize: asIs, responseDeserialize: asIs },
};
const server = new grpc.Server({ "grpc.enable_channelz": 0, "grpc-node.flow_control_window": 16 * 1024 * 1024, "grpc.max_receive_message_length": 16 * 1024 * 1024 });
server.addService(mux, {
  mux: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
    call.on("data", (b: Buffer) => {
      const { id, payload } = unframe(b);
      const c = decodeCall(payload);
      const headers = { authorization: `Bearer ${token}`, accept: c.accept, "user-agent": c.userAgent };
      let status = 0;
      const chunks: Buffer[] = [];
      const handler: Dispatcher.DispatchHandler = {
        onConnect: () => undefined,
        onHeaders: (code) => ((status = code), true),
        onData: (chunk) => (chunks.push(chunk), true),
        onComplete: () => void call.write(frame(id, encodeAnswer(status, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)))),
        onError: (err) => void call.write(frame(id, encodeAnswer(502, Buffer.from(err.message)))),
      };
      pool.dispatch({ method: c.method as Dispatcher.HttpMethod, path: c.path, headers }, handler);
    });
    call.on("end", () => call.end());
    call.on("error", (err: Error) => logger.warn({ err }, "mux stream failed"));
  },
});
const port = await new Promise<number>((resolve, reject) => server.bindAsync(`${env["FLOOR_HOST"] ?? "127.0.0.1"}:0`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
logger.info({ port }, "ready");
for (const sig of ["SIGTERM", "SIGINT"] as const) process.once(sig, () => process.exit(0));
