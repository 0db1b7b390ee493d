/**
 * Upgraded connections under /k8s: kubectl exec, attach and port-forward
 * (WebSocket v5/v4.channel.k8s.io, the port-forward WebSocket protocol, and
 * SPDY/3.1, all carried as opaque bytes).
 *
 *   GET|POST /k8s/clusters/:id/api/v1/namespaces/:ns/pods/:pod/(exec|attach|portforward)
 *     with Upgrade -> the edge makes the same upgrade to the API server
 *
 * Node hands an HTTP/1.1 Upgrade request to the server's `upgrade` event, not
 * to Fastify's router, so this module answers it on the raw socket: the caller
 * authenticated as /k8s does (token or session), then role operator or above
 * (403 OPERATOR_REQUIRED), an Assistant caller only in a tenant listed in
 * GATEWAY_SESSIONS_ASSISTANT_TENANTS (403 ASSISTANT_SESSIONS_DISABLED), the
 * cluster the tenant's (404). Refusals of the hub are problem+json with a
 * stable reason (429 SESSION_LIMIT_*, 503 AUDIT_UNAVAILABLE, ...); the API
 * server's own answer (403 Forbidden Status without the RBAC preset) is passed
 * verbatim. After 101 the socket and the session copy bytes both ways until
 * either ends; a half-close (FIN) travels as such.
 */
import { STATUS_CODES, type IncomingMessage, type Server } from "node:http";
import { once } from "node:events";
import type { Duplex } from "node:stream";
import type { FastifyInstance } from "fastify";
import type { NatsConnection } from "@nats-io/transport-node";
import { CallerKind } from "@daalu/proto";
import { DaaluError, toProblem, type Logger } from "@daalu/runtime";
import { sessionCall, type DuplexChannel } from "@daalu/tunnel-proxy";
import type { PeeringClient } from "@daalu/peering";
import { requireOperator, type Authenticator } from "../auth.js";
import { AssistantSessionsDisabledError, RouteNotFoundError } from "../errors.js";
import { scrubSubjects } from "./problems.js";
import { K8S_FORWARD_HEADERS } from "./k8s-proxy.js";
import { interruptNotice, type InterruptNotice } from "./session-interrupt.js";
import { endWithin, SOCKET_END_GRACE_MS } from "./socket-end.js";

/** The paths an upgrade may take: a pod's exec, attach or portforward. */
const SESSION_PATH = /^\/k8s\/clusters\/([A-Za-z0-9_-]{1,128})(\/api\/v1\/namespaces\/[^/?]+\/pods\/[^/?]+\/(?:exec|attach|portforward))(?:\?.*)?$/;

/** Headers an upgrade carries to the edge (the edge filters again); never Authorization or Cookie. */
const UPGRADE_FORWARD_HEADERS = new Set([...K8S_FORWARD_HEADERS, "upgrade", "connection", "sec-websocket-key", "sec-websocket-version", "sec-websocket-protocol", "sec-websocket-extensions", "x-stream-protocol-version"]);

/** The reason open sessions get when the gateway closes. */
export const GATEWAY_DRAIN_REASON = "the hub is shutting down";
/** How long a closing gateway gives its sessions' clients to take the reason and close. */
const DRAIN_NOTICE_MS = 2_000;
const noop = () => undefined;

export interface K8sSessionOptions {
  auth: Authenticator;
  peering: PeeringClient;
  nc: NatsConnection;
  natsPrefix: string;
  /** Tenants whose Assistant may open sessions; "*" allows every tenant. */
  assistantTenants: readonly string[];
  headTimeoutMs: number;
  logger: Logger;
}

/** Answers upgrades on the app's server; open sessions end with GATEWAY_DRAIN_REASON when the app closes. */
export function k8sSessions(app: FastifyInstance, opts: K8sSessionOptions): void {
  const log = opts.logger.child({ component: "k8s-session" });
  const open = new Set<{ channel: DuplexChannel; socket: Duplex }>();
  const assistantOk = (tenantId: string) => opts.assistantTenants.includes("*") || opts.assistantTenants.includes(tenantId);
  (app.server as Server).on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => undefined);
    void upgrade(req, socket, head).catch((err) => {
      const e = err instanceof DaaluError ? err : DaaluError.from(err);
      if (e.httpStatus >= 500 && e.reason !== "AUDIT_UNAVAILABLE") log.warn({ err: e.reason, detail: e.message }, "session refused");
      refuse(socket, e, (req.url ?? "").split("?")[0]!);
    });
  });
  // Each open session is told why (pipeToClient writes the reason as the client can read it and ends the socket);
  // a client that has not closed within DRAIN_NOTICE_MS is cut, so the server's close never waits on one.
  app.addHook("preClose", async () => {
    const sockets = [...open].map((s) => {
      s.channel.close(GATEWAY_DRAIN_REASON);
      return s.socket;
    });
    if (sockets.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const closed = sockets.map((socket) => (socket.closed ? Promise.resolve() : once(socket, "close").then(noop, noop)));
    await Promise.race([Promise.all(closed), new Promise((r) => (timer = setTimeout(r, DRAIN_NOTICE_MS)))]);
    clearTimeout(timer);
    for (const socket of sockets) socket.destroy();
  });

  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = req.url ?? "";
    const m = SESSION_PATH.exec(url);
    if (!m) throw new RouteNotFoundError(req.method ?? "GET", url);
    const p = await opts.auth.authenticateRequest({ method: req.method ?? "GET", headers: req.headers });
    requireOperator(p);
    if (p.caller.kind === CallerKind.ASSISTANT && !assistantOk(p.tenantId)) throw new AssistantSessionsDisabledError();
    const clusterId = m[1]!;
    await opts.peering.getCluster({ clusterId }, { tenantId: p.tenantId, caller: p.caller });
    const headers: { name: string; value: string }[] = [];
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i]!.toLowerCase();
      if (UPGRADE_FORWARD_HEADERS.has(name)) headers.push({ name, value: req.rawHeaders[i + 1]! });
    }
    const path = url.slice(`/k8s/clusters/${clusterId}`.length);
    const a = await sessionCall(opts.nc, { method: req.method ?? "GET", path, headers }, { prefix: opts.natsPrefix, tenantId: p.tenantId, clusterId, caller: p.caller, timeoutMs: opts.headTimeoutMs });
    const ch = a.channel;
    if (socket.destroyed) return ch.close("the client closed the connection");
    const lines = [`HTTP/1.1 ${a.status} ${STATUS_CODES[a.status] ?? ""}`, ...a.headers.map((h) => `${h.name}: ${h.value}`)];
    // Not upgraded: the API server's answer, its body until the connection closes.
    if (a.status !== 101) lines.push("connection: close");
    socket.write(`${lines.join("\r\n")}\r\n\r\n`);
    const s = { channel: ch, socket };
    // Tracked until the socket is gone, not the session: an ended socket whose client has not closed yet is still
    // destroyed when the app closes.
    open.add(s);
    socket.once("close", () => open.delete(s));
    if (a.status === 101) pipeClient(socket, head, ch);
    else socket.on("close", () => ch.close("the client closed the connection"));
    const subresource = m[2]!.slice(m[2]!.lastIndexOf("/") + 1);
    void pipeToClient(ch, socket, interruptNotice(subresource, a.status, a.headers));
  }
}

/** Client -> session: the socket is paused while a write waits for the session's credit. */
function pipeClient(socket: Duplex, head: Buffer, ch: DuplexChannel): void {
  const write = (d: Buffer) => {
    socket.pause();
    ch.write(d).then(
      () => socket.resume(),
      () => socket.destroy(),
    );
  };
  if (head.length > 0) write(head);
  socket.on("data", write);
  socket.on("end", () => ch.end());
  socket.on("close", () => ch.close("the client closed the connection"));
}

/**
 * Session -> client, pulled only as the socket takes it; the session's end ends the socket after what it sent was
 * flushed. A session the hub cut (its tunnel-proxy silent, the edge gone, a limit, a drain) first gets the reason
 * the client can read (session-interrupt.ts).
 */
async function pipeToClient(ch: DuplexChannel, socket: Duplex, notice: InterruptNotice): Promise<void> {
  try {
    for (;;) {
      const d = await ch.read();
      if (d === null) break;
      notice.push(d);
      if (!socket.write(d)) await new Promise((r) => (socket.once("drain", r), socket.once("close", r)));
      if (socket.destroyed) return;
    }
  } catch {
    // Closed (by the edge, the API server, a limit or the hub): what arrived was written; say why, end the socket.
    const why = notice.closing(ch.closeReason ?? "closed");
    if (why.length > 0 && !socket.destroyed) socket.write(why);
  }
  endWithin(socket, SOCKET_END_GRACE_MS);
}

function refuse(socket: Duplex, err: DaaluError, instance: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ ...toProblem(err, instance), detail: scrubSubjects(err.message) });
  const status = err.httpStatus;
  endWithin(
    socket,
    SOCKET_END_GRACE_MS,
    [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}`, "content-type: application/problem+json", `daalu-error-reason: ${err.reason}`, `content-length: ${Buffer.byteLength(body)}`, "connection: close", "", body].join("\r\n"),
  );
}
