/**
 * The floor's gateway (bench proxy-floor): node:https with the gateway's
 * certificate, and per request one NATS request carrying method, path and
 * the two headers the edge forwards, its reply to one wildcard inbox
 * subscription of the connection (as the product's inbox mux; nats.js's
 * request() costs its caller about twice as much per round trip, bench
 * hops), no timer per call (a one-second sweep fails calls older than 5 s);
 * the reply's status and body go back to the client. No routing, no auth, no
 * Fastify: the transports alone. Compiled by the bench, run with plain node.
 *
 *   FLOOR_NATS_URL FLOOR_CERT_FILE FLOOR_KEY_FILE  -> logs {"msg":"ready","port":N} (127.0.0.1)
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { ServerResponse } from "node:http";
import { connectNats, createLogger } from "@daalu/runtime";
import { decodeAnswer, encodeCall, FLOOR_SUBJECT } from "./floor-wire.js";

const env = process.env;
const logger = createLogger("floor-gateway", env["LOG_LEVEL"] ?? "info");
const nc = await connectNats(env["FLOOR_NATS_URL"]!, "floor-gateway", logger);
const TIMEOUT_MS = 5_000;
const inbox = `_INBOX.floor.${process.pid}.${Date.now().toString(36)}.`;
const waiting = new Map<string, { res: ServerResponse; at: number }>();
const fail = (res: ServerResponse, why: string) => {
  res.writeHead(502, { "content-type": "text/plain" });
  res.end(why);
};
nc.subscribe(`${inbox}*`, {
  callback: (err, m) => {
    if (err) return logger.error({ err }, "inbox subscription failed");
    const w = waiting.get(m.subject);
    if (!w) return;
    waiting.delete(m.subject);
    const a = decodeAnswer(m.data);
    w.res.writeHead(a.status, { "content-type": "application/json", "content-length": a.body.length });
    w.res.end(a.body);
  },
});
setInterval(() => {
  const old = Date.now() - TIMEOUT_MS;
  for (const [subject, w] of waiting) {
    if (w.at >= old) continue;
    waiting.delete(subject);
    fail(w.res, "no reply within 5 s");
  }
}, 1_000).unref();
await nc.flush();
let seq = 0;
const server = createServer({ cert: readFileSync(env["FLOOR_CERT_FILE"]!), key: readFileSync(env["FLOOR_KEY_FILE"]!), keepAliveTimeout: 60_000, noDelay: true }, (req, res) => {
  const call = encodeCall({ method: req.method ?? "GET", path: req.url ?? "/", accept: req.headers.accept ?? "", userAgent: req.headers["user-agent"] ?? "" });
  req.resume();
  const reply = inbox + (seq++).toString(36);
  waiting.set(reply, { res, at: Date.now() });
  nc.publish(FLOOR_SUBJECT, call, { reply });
});
server.listen(0, "127.0.0.1", () => logger.info({ port: (server.address() as AddressInfo).port }, "ready"));
for (const sig of ["SIGTERM", "SIGINT"] as const) process.once(sig, () => process.exit(0));
