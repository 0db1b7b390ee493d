/**
 * Sessions (exec, attach, port-forward) through the tunnel: one message on
 * `…daalu.tunnel.v1.<tenant>.<cluster>.Session` (a SessionOpen) opens a duplex
 * NATS stream to the caller (stream-duplex.ts) and a bidi gRPC call to the
 * edge (EdgeSessionService.Session); bytes are copied between the two with
 * the credit of the one and the flow control of the other.
 *
 * Audit rule (a session never runs unaudited): the start record is published
 * and its PubAck awaited before the edge is asked; no PubAck -> the session is
 * refused with 503 AUDIT_UNAVAILABLE. The end record (bytes each way, close
 * reason) completes the row when the session ends. A session whose end record
 * never comes (this process died) is marked interrupted by the audit service
 * once this process's heartbeats stop (the start record names `instance`).
 *
 * Limits: concurrent sessions per tenant and per cluster (429), an idle
 * timeout (no byte either way), a maximum duration, and drain() at shutdown
 * ends every open session with a reason.
 */
import { randomUUID } from "node:crypto";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import { auditv1, CallerKind, edgev1 } from "@daalu/proto";
import { newCallRecord, type AuditPublisher } from "@daalu/audit";
import { Code, DaaluError, grpc, HEADER_CALLER, HEADER_TENANT, parseCaller, tunnelSubject, type Logger } from "@daalu/runtime";
import type { SessionConfig } from "../../config.js";
import { acceptDuplex, type DuplexResponder } from "../../stream-duplex.js";
import type { DuplexChannel } from "../../stream-duplex-channel.js";
import { SESSION_HEARTBEAT_MS, SESSION_IDLE_TIMEOUT_MS } from "../../stream-protocol.js";
import { parseOperation } from "../../domain/operation.js";
import { edgeGoneReason, isNormalSessionEnd, SessionLimits, sessionStart, tunnelScope } from "../../domain/session.js";
import { errorChannelReaderFor, type ErrorChannelReader } from "../../domain/exit-status.js";
import { EdgeUnavailableError, InvalidProxyRequestError, SessionLimitError, SessionRefusedError, TenantMismatchError } from "../../errors.js";
import type { EdgeClients } from "../grpc/edge-client.js";

export interface SessionDeps {
  nc: NatsConnection;
  prefix: string;
  queue: string;
  edges: EdgeClients;
  edgeAddress(tenantId: string, clusterId: string): Promise<string>;
  audit: AuditPublisher;
  auditDeadlineMs: number;
  /** This process's id in start records; its heartbeats (session-owners in @daalu/audit) keep the rows open. */
  instance: string;
  /** How long the edge may take to answer the upgrade. */
  headTimeoutMs: number;
  sessions: SessionConfig;
  logger: Logger;
  /** false: subscribe nothing here; the caller subscribes `handler` per homed cluster (home-routing.ts). Default true: every cluster's subject. */
  wildcard?: boolean;
}

/** The reason sessions get when the tunnel-proxy stops. */
export const DRAIN_REASON = "the hub is shutting down";

type EdgeCall = grpc.ClientDuplexStream<edgev1.SessionRequest, edgev1.SessionResponse>;

/** Subscribes to every cluster's Session subject (unless `wildcard` is false). drain() ends open sessions with DRAIN_REASON and waits for their end records. */
export function serveSessions(deps: SessionDeps): { drain(): Promise<void>; readonly open: number; readonly handler: (err: Error | null, msg: Msg) => Promise<void> | void } {
  const limits = new SessionLimits(deps.sessions.perTenant, deps.sessions.perCluster);
  const open = new Map<Promise<void>, (reason: string) => void>();
  const handler = (err: Error | null, msg: Msg) => {
    if (err) return deps.logger.error({ err }, "session subscription error");
    let stop: (reason: string) => void = () => undefined;
    const p = handleSession(deps, limits, msg, (f) => (stop = f)).catch((e) => deps.logger.error({ err: e }, "session handler crashed"));
    open.set(p, (r) => stop(r));
    void p.finally(() => open.delete(p));
    // The session's whole life: home routing counts it, so a rebalance never releases a cluster under it.
    return p;
  };
  const sub: Subscription | undefined = deps.wildcard === false ? undefined : deps.nc.subscribe(tunnelSubject(deps.prefix, "*", "*", "Session"), { queue: deps.queue, callback: (e, m) => void handler(e, m) });
  return {
    handler,
    get open() {
      return open.size;
    },
    async drain() {
      await sub?.drain().catch(() => undefined);
      for (const stop of open.values()) stop(DRAIN_REASON);
      await Promise.allSettled([...open.keys()]);
    },
  };
}

async function handleSession(deps: SessionDeps, limits: SessionLimits, msg: Msg, onStop: (stop: (reason: string) => void) => void): Promise<void> {
  const { tenantId, clusterId } = tunnelScope(msg.subject);
  let res: DuplexResponder;
  try {
    res = acceptDuplex(deps.nc, msg, { heartbeatMs: SESSION_HEARTBEAT_MS, idleTimeoutMs: SESSION_IDLE_TIMEOUT_MS });
  } catch {
    return; // no reply subject: nobody to answer
  }
  const h = msg.headers;
  const caller = parseCaller(h?.get(HEADER_CALLER));
  let release: (() => void) | undefined;
  try {
    let req: edgev1.ProxyRequest | undefined;
    try {
      req = fromBinary(edgev1.SessionOpenSchema, msg.data).request;
    } catch (err) {
      throw new InvalidProxyRequestError((err as Error).message);
    }
    if (!req?.method || !req.path.startsWith("/")) throw new InvalidProxyRequestError("a session needs a method and an absolute path");
    req.target ||= "kubernetes";
    const headerTenant = h?.get(HEADER_TENANT);
    if (headerTenant && headerTenant !== tenantId) throw new TenantMismatchError();
    const addr = await deps.edgeAddress(tenantId, clusterId);
    const slot = limits.acquire(tenantId, clusterId);
    if (!("release" in slot)) throw new SessionLimitError(slot.scope, slot.limit);
    release = slot.release;
    await runSession(deps, res, { tenantId, clusterId, caller: { kind: caller.kind || CallerKind.UNSPECIFIED, id: caller.id }, addr, req, md: metadata(tenantId, h?.get(HEADER_CALLER)) }, onStop);
  } catch (err) {
    const e = DaaluError.from(err);
    if (e.code === Code.Internal || e.code === Code.Unknown) deps.logger.error({ err: e.cause ?? err, clusterId }, "session failed");
    res.fail(e);
  } finally {
    release?.();
  }
}

function metadata(tenantId: string, caller: string | undefined): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set(HEADER_TENANT.toLowerCase(), tenantId);
  if (caller) md.set(HEADER_CALLER.toLowerCase(), caller);
  return md;
}

interface SessionCtx {
  tenantId: string;
  clusterId: string;
  caller: { kind: CallerKind; id: string };
  addr: string;
  req: edgev1.ProxyRequest;
  md: grpc.Metadata;
}

/** Audits, opens the edge call, answers the head, then copies bytes until either side ends. Throws only before the head. */
async function runSession(deps: SessionDeps, res: DuplexResponder, s: SessionCtx, onStop: (stop: (reason: string) => void) => void): Promise<void> {
  const t0 = Date.now();
  const sessionId = randomUUID();
  const operation = parseOperation(s.req.target, s.req.method, s.req.path);
  const base = { tenantId: s.tenantId, clusterId: s.clusterId, caller: s.caller, operation };
  const start = newCallRecord({ ...base, id: sessionId, outcome: { statusCode: 0, ok: true }, session: sessionStart(sessionId, s.req.path, deps.instance) });
  // Never unaudited: no PubAck, no session (AUDIT_UNAVAILABLE, 503).
  await deps.audit.publish(start, { deadlineMs: deps.auditDeadlineMs });

  let status = 0;
  let channel: DuplexChannel | undefined;
  /** Reads the exec/attach Status off the API server's side, for the end record (exit-status.ts). */
  let exitReader: ErrorChannelReader | undefined;
  const ended = new Promise<string>((resolve) => {
    let done = false;
    const call: EdgeCall = deps.edges.session(s.addr, s.md);
    const stop = (reason: string) => {
      if (done) return;
      done = true;
      clearTimeout(headTimer);
      clearTimeout(maxTimer);
      clearInterval(idleTimer);
      call.cancel();
      channel?.close(reason);
      resolve(reason);
    };
    onStop(stop);
    let lastActivity = Date.now();
    const headTimer = setTimeout(() => stop(`the edge did not answer the upgrade within ${deps.headTimeoutMs} ms`), deps.headTimeoutMs);
    const maxTimer = setTimeout(() => stop(`the session reached its maximum duration (${deps.sessions.maxDurationMs} ms)`), deps.sessions.maxDurationMs);
    const idleTimer = setInterval(() => Date.now() - lastActivity > deps.sessions.idleTimeoutMs && stop(`the session was idle for ${deps.sessions.idleTimeoutMs} ms`), Math.min(1_000, deps.sessions.idleTimeoutMs / 4));
    for (const t of [maxTimer, idleTimer]) t.unref();

    call.on("data", (m: edgev1.SessionResponse) => {
      const f = m.frame;
      if (f.case === "head") {
        clearTimeout(headTimer);
        status = f.value.status;
        exitReader = errorChannelReaderFor(operation.subresource, status, f.value.headers);
        channel = res.head(toBinary(edgev1.SessionHeadSchema, f.value));
        const c = channel;
        c.signal.addEventListener("abort", () => stop(c.closedByPeer ? `the client closed the session: ${c.closeReason}` : (c.closeReason ?? "closed")), { once: true });
        void pumpToEdge(c, call, () => (lastActivity = Date.now())).catch(() => undefined);
        return;
      }
      const c = channel;
      if (!c) return stop("the edge sent data before the head");
      if (f.case === "data") {
        lastActivity = Date.now();
        exitReader?.push(f.value.data);
        call.pause();
        c.write(f.value.data).then(
          () => call.resume(),
          () => undefined,
        );
      } else if (f.case === "halfClose") c.end();
      else if (f.case === "close") {
        // Everything written before is already published, in order, ahead of the close.
        stop(f.value.reason || "the edge closed the session");
      }
    });
    call.on("end", () => stop("the edge ended the session"));
    call.on("error", (err: grpc.ServiceError) => {
      if (done) return;
      if (!channel) {
        done = true;
        clearTimeout(headTimer);
        clearTimeout(maxTimer);
        clearInterval(idleTimer);
        const e = err.code === grpc.status.PERMISSION_DENIED ? new SessionRefusedError(err.details) : err.code === grpc.status.UNAVAILABLE ? new EdgeUnavailableError(s.clusterId, err.details) : new DaaluError(Code.Unavailable, err.details, { reason: "SESSION_FAILED" });
        res.fail(e);
        resolve(e.message);
        return;
      }
      stop(edgeGoneReason(err.details));
    });
    call.write(create(edgev1.SessionRequestSchema, { frame: { case: "open", value: { request: s.req } } }));
  });
  const reason = await ended;
  if (!channel) res.fail(new DaaluError(Code.Unavailable, reason, { reason: "SESSION_FAILED" }));
  const normal = isNormalSessionEnd(reason);
  const end = newCallRecord({
    ...base,
    outcome: { statusCode: status, ok: status === 101 && normal, error: normal ? "" : reason },
    latencyMs: Date.now() - t0,
    bytesIn: BigInt(channel?.bytesIn ?? 0),
    bytesOut: BigInt(channel?.bytesOut ?? 0),
    session: create(auditv1.SessionSchema, { sessionId, phase: auditv1.SessionPhase.END, endedAt: timestampNow(), closeReason: reason, ...(exitReader?.exit ? { exitStatus: exitReader.exit.status, exitCode: exitReader.exit.code } : {}) }),
  });
  await deps.audit.publish(end, { deadlineMs: deps.auditDeadlineMs }).catch((err) => deps.logger.warn({ err, sessionId }, "a session's end record was not stored; its row stays open, then interrupted"));
}

/** Caller -> edge: pulls the channel (acking as it goes) and writes to the gRPC call while it takes more. */
async function pumpToEdge(c: DuplexChannel, call: EdgeCall, activity: () => void): Promise<void> {
  for (;;) {
    const data = await c.read();
    if (data === null) {
      call.write(create(edgev1.SessionRequestSchema, { frame: { case: "halfClose", value: {} } }));
      return;
    }
    activity();
    if (!call.write(create(edgev1.SessionRequestSchema, { frame: { case: "data", value: { data } } }))) await new Promise((r) => call.once("drain", r));
  }
}
