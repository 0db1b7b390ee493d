/**
 * The edge side of EdgeSessionService.Session: one upgraded connection to the
 * API server per call (kubectl exec, attach, port-forward; WebSocket or
 * SPDY/3.1), made with the proxy ServiceAccount's token as every Proxy call.
 * The edge never parses the upgraded protocol: after the API server's 101 it
 * copies bytes both ways.
 *
 * - Refusal: upgrade-policy.ts decides (three pod subresources, never the
 *   edge's own namespace); the API server's own answer (403 without the RBAC
 *   preset) goes back verbatim as a head and data frames, then close.
 * - Backpressure: the upstream socket is read only while call.write() returns
 *   true, and the call is paused while the socket's write buffer is full, so
 *   HTTP/2 flow control reaches both ends.
 * - Close: the hub's half_close ends the socket's write side (FIN); the
 *   socket's end is sent as half_close; close frames, a cancelled call and a
 *   socket error destroy the upstream socket at once.
 */
import http from "node:http";
import https from "node:https";
import type { Duplex } from "node:stream";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { edgev1 } from "@daalu/proto";
import { grpc, grpcDefinition } from "@daalu/runtime";
import { filterHeaders, REQUEST_HEADER_ALLOWLIST, RESPONSE_HEADER_ALLOWLIST } from "./policy.js";
import { pairs, tokenSource, type EdgeProxyOptions } from "./server.js";
import { coalesce } from "./coalesce.js";
import { sessionDataFrame } from "./session-frames.js";
import { allowSession, UPGRADE_REQUEST_HEADERS, UPGRADE_RESPONSE_HEADERS, upgradeHeaders } from "./upgrade-policy.js";

/** Largest data frame the edge sends: far below gRPC's 4 MiB default and NATS's max_payload once the hub cuts it into chunks. */
const MAX_FRAME_BYTES = 256 * 1024;

/** Data frames leave encoded already (session-frames.ts); the rest as messages. */
type Outgoing = edgev1.SessionResponse | Uint8Array;
type SessionCall = grpc.ServerDuplexStream<edgev1.SessionRequest, Outgoing>;

const frame = (f: MessageInitShape<typeof edgev1.SessionResponseSchema>["frame"]) => create(edgev1.SessionResponseSchema, { frame: f });

/** The grpc-js handler of Session. */
export function edgeSessionHandler(opts: EdgeProxyOptions): grpc.handleBidiStreamingCall<edgev1.SessionRequest, Outgoing> {
  const token = tokenSource(opts.apiServer);
  const base = new URL(opts.apiServer.server);
  const log = opts.logger.child({ component: "session" });
  return (call: SessionCall) => {
    let upstream: Duplex | undefined;
    let request: http.ClientRequest | undefined;
    let ended = false;
    const end = (reason: string) => {
      if (ended) return;
      ended = true;
      upstream?.destroy();
      request?.destroy();
      if (!call.cancelled) {
        call.write(frame({ case: "close", value: { reason } }));
        call.end();
      }
    };
    call.on("cancelled", () => end("cancelled by the hub"));
    call.on("error", () => end("the hub's call failed"));
    call.on("end", () => (upstream ? undefined : end("the hub closed before opening")));
    call.on("data", (m: edgev1.SessionRequest) => {
      const f = m.frame;
      if (!request) {
        if (f.case !== "open" || !f.value.request) return end("the first frame must be open");
        request = open(f.value.request);
        return;
      }
      if (!upstream) return; // data before the 101 has nowhere to go; the hub sends none
      if (f.case === "data") {
        if (!upstream.write(f.value.data)) {
          call.pause();
          upstream.once("drain", () => call.resume());
        }
      } else if (f.case === "halfClose") upstream.end();
      else if (f.case === "close") end(f.value.reason || "closed by the hub");
    });

    const open = (req: edgev1.ProxyRequest): http.ClientRequest | undefined => {
      const decision = allowSession(req, opts.ownNamespace);
      if (!decision.ok) {
        log.warn({ method: req.method, reason: decision.reason }, "refused a session");
        if (!decision.status) {
          call.emit("error", { code: grpc.status.PERMISSION_DENIED, details: decision.reason, metadata: new grpc.Metadata() });
          ended = true;
          return undefined;
        }
        call.write(frame({ case: "head", value: { status: decision.status.code, headers: [{ name: "content-type", value: "application/json" }] } }));
        call.write(sessionDataFrame(Buffer.from(JSON.stringify(decision.status))));
        end(decision.status.reason);
        return undefined;
      }
      const headers: Record<string, string | string[]> = upgradeHeaders(req.headers, UPGRADE_REQUEST_HEADERS, REQUEST_HEADER_ALLOWLIST);
      try {
        const t = token();
        if (t) headers["authorization"] = `Bearer ${t}`;
      } catch (err) {
        call.emit("error", { code: grpc.status.UNAVAILABLE, details: `the edge has no token of its proxy ServiceAccount: ${(err as Error).message}`, metadata: new grpc.Metadata() });
        ended = true;
        return undefined;
      }
      const tls = base.protocol === "https:";
      const r = (tls ? https : http).request({
        protocol: base.protocol,
        hostname: base.hostname.replace(/^\[|\]$/g, ""),
        port: base.port || (tls ? 443 : 80),
        method: req.method.toUpperCase(),
        path: base.pathname.replace(/\/+$/, "") + req.path,
        headers,
        // An upgraded socket leaves the pool: a fresh connection per session.
        agent: false,
        ...(tls ? { ...(opts.apiServer.ca ? { ca: opts.apiServer.ca } : {}), rejectUnauthorized: !opts.apiServer.insecureSkipTlsVerify } : {}),
      });
      r.on("upgrade", (res, socket, head) => {
        if (ended) return void socket.destroy();
        upstream = socket;
        const pass = upgradeHeaders(pairs(res.rawHeaders), UPGRADE_RESPONSE_HEADERS, RESPONSE_HEADER_ALLOWLIST);
        const hs = Object.entries(pass).flatMap(([name, values]) => values.map((value) => ({ name, value })));
        call.write(frame({ case: "head", value: { status: res.statusCode ?? 101, headers: hs } }));
        if (head.length > 0) call.write(sessionDataFrame(head));
        // One data frame per event-loop turn's worth of TLS records (coalesce.ts), not one per record.
        const batch = coalesce(
          socket,
          MAX_FRAME_BYTES,
          (data) => ended || call.write(sessionDataFrame(data)),
          (resume) => call.once("drain", resume),
        );
        socket.on("end", () => {
          batch.flush();
          if (!ended) call.write(frame({ case: "halfClose", value: {} }));
        });
        socket.on("close", () => {
          batch.flush();
          end("the API server closed the connection");
        });
        socket.on("error", (err) => end(`the API server connection failed: ${err.message}`));
      });
      r.on("response", (res) => {
        // Not upgraded: the API server's answer (403 Forbidden, 400, ...) goes back verbatim.
        const hs = Object.entries(filterHeaders(pairs(res.rawHeaders), RESPONSE_HEADER_ALLOWLIST)).map(([name, value]) => ({ name, value }));
        call.write(frame({ case: "head", value: { status: res.statusCode ?? 502, headers: hs } }));
        res.on("data", (data: Buffer) => {
          if (!call.write(sessionDataFrame(data))) {
            res.pause();
            call.once("drain", () => res.resume());
          }
        });
        res.on("end", () => end(`the API server answered ${res.statusCode ?? 0}`));
        res.on("error", (err) => end(`the API server connection failed: ${err.message}`));
      });
      r.on("error", (err) => {
        if (ended) return;
        log.warn({ err: err.message }, "session upstream failed");
        if (upstream) return end(`the API server connection failed: ${err.message}`);
        ended = true;
        call.emit("error", { code: grpc.status.UNAVAILABLE, details: `the API server is unreachable from the edge: ${err.message}`, metadata: new grpc.Metadata() });
      });
      r.end();
      return r;
    };
  };
}

/** The gRPC path of EdgeSessionService.Session. */
export const SESSION_METHOD_PATH = `/${edgev1.EdgeSessionService.typeName}/${edgev1.EdgeSessionService.method.session.name}`;

/** Adds Session to a grpc-js server (the edge's, next to registerProxy, or a test harness's). */
export function registerSession(server: grpc.Server, opts: EdgeProxyOptions): void {
  const def = grpcDefinition(edgev1.EdgeSessionService)[edgev1.EdgeSessionService.method.session.localName]!;
  const encode = def.responseSerialize as (m: edgev1.SessionResponse) => Buffer;
  const serialize = (m: Outgoing): Buffer => (m instanceof Uint8Array ? Buffer.from(m.buffer, m.byteOffset, m.byteLength) : encode(m));
  const ok = server.register(SESSION_METHOD_PATH, edgeSessionHandler(opts) as grpc.UntypedHandleCall, serialize as grpc.serialize<unknown>, def.requestDeserialize as grpc.deserialize<unknown>, "bidi");
  if (!ok) throw new Error(`registerSession: could not register ${SESSION_METHOD_PATH}`);
}
