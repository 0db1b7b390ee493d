/**
 * The floor's gateway (bench proxy-floor): node:https with the gateway's
 * certificate, and per request one NATS request (the connection's muxed
 * inbox) carrying method, path and the two headers the edge forwards; the
 * reply's status and body go back to the client. No routing, no auth, no
 * Fastify: the transports alone. Compiled by the bench, run with plain node.
 *
 *   FLOOR_NATS_URL FLOOR_CERT_FILE FLOOR_KEY_FILE  -> logs {"msg":"ready","port":N} (127.0.0.1)
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { connectNats, createLogger } from "@daalu/runtime";
import { decodeAnswer, encodeCall, FLOOR_SUBJECT } from "./floor-wire.js";

const env = process.env;
const logger = createLogger("floor-gateway", env["LOG_LEVEL"] ?? "info");
const nc = await connectNats(env["FLOOR_NATS_URL"]!, "floor-gateway", logger);
const server = createServer({ cert: readFileSync(env["FLOOR_CERT_FILE"]!), key: readFileSync(env["FLOOR_KEY_FILE"]!), keepAliveTimeout: 60_000, noDelay: true }, (req, res) => {
  const call = encodeCall({ method: req.method ?? "GET", path: req.url ?? "/", accept: req.headers.accept ?? "", userAgent: req.headers["user-agent"] ?? "" });
  req.resume();
  void nc.request(FLOOR_SUBJECT, call, { timeout: 5_000 }).then(
    (m) => {
      const a = decodeAnswer(m.data);
      res.writeHead(a.status, { "content-type": "application/json", "content-length": a.body.length });
      res.end(a.body);
    },
    (err: Error) => {
      res.writeHead(502, { "content-type": "text/plain" });
      res.end(err.message);
    },
  );
});
server.listen(0, "127.0.0.1", () => logger.info({ port: (server.address() as AddressInfo).port }, "ready"));
for (const sig of ["SIGTERM", "SIGINT"] as const) process.once(sig, () => process.exit(0));
