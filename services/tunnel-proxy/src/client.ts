import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { headers as natsHeaders, type MsgHdrs, type NatsConnection } from "@nats-io/transport-node";
import { edgev1 } from "@daalu/proto";
import { formatCaller, HEADER_CALLER, HEADER_TENANT, injectTrace, tunnelSubject, type CallerRef } from "@daalu/runtime";
import type { StreamTimings } from "./stream-protocol.js";
import { requestStream } from "./stream-requester.js";
import { retryWhileMoving } from "./moving-retry.js";

/** The answer of a call through the tunnel: status, headers, and the body as a pull stream. */
export interface ProxyAnswer {
  status: number;
  headers: { name: string; value: string }[];
  /** True when the body came whole with the head (unary answers). */
  complete: boolean;
  /** Pull to read; pulling acknowledges, `return()` cancels. */
  body: AsyncIterableIterator<Uint8Array>;
  cancel(reason?: string): void;
}

export interface ProxyCallOptions extends StreamTimings {
  prefix: string;
  tenantId: string;
  clusterId: string;
  caller: CallerRef;
  /** How long to wait for the head. */
  timeoutMs: number;
  signal?: AbortSignal;
  windowChunks?: number;
  windowBytes?: number;
  /** A GET/HEAD refused with CLUSTER_MOVING is sent again within `timeoutMs` (moving-retry.ts); other methods never. */
  retryWhileMoving?: boolean;
}

/**
 * Sends one HTTP request through the tunnel of a tenant's cluster (the
 * gateway's /k8s proxy uses it). Rejects with a DaaluError before the head
 * (cluster unknown, edge unreachable, edge refused, audit unavailable).
 */
export function proxyCall(nc: NatsConnection, req: ProxyRequestInit, opts: ProxyCallOptions): Promise<ProxyAnswer> {
  if (!opts.retryWhileMoving) return proxyCallOnce(nc, req, opts);
  const retry = { method: req.method, deadline: Date.now() + opts.timeoutMs, ...(opts.signal ? { signal: opts.signal } : {}) };
  return retryWhileMoving(retry, (timeoutMs) => proxyCallOnce(nc, req, { ...opts, timeoutMs }));
}

type ProxyRequestInit = { target?: string; method: string; path: string; headers: { name: string; value: string }[]; body?: Uint8Array };

async function proxyCallOnce(nc: NatsConnection, req: ProxyRequestInit, opts: ProxyCallOptions): Promise<ProxyAnswer> {
  const h = tunnelHeaders(opts);
  const payload = toBinary(edgev1.ProxyRequestSchema, create(edgev1.ProxyRequestSchema, { target: req.target ?? "kubernetes", method: req.method, path: req.path, headers: req.headers, body: req.body ?? new Uint8Array(0) }));
  const rep = await requestStream(nc, tunnelSubject(opts.prefix, opts.tenantId, opts.clusterId, "Proxy"), payload, {
    headers: h,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...streamOptions(opts),
  });
  const head = fromBinary(edgev1.ProxyHeadSchema, rep.head);
  return { status: head.status, headers: head.headers.map((x) => ({ name: x.name, value: x.value })), complete: rep.complete, body: rep.body, cancel: rep.cancel };
}

/** The NATS headers of a call through the tunnel: tenant, caller, trace. */
export function tunnelHeaders(opts: Pick<ProxyCallOptions, "tenantId" | "caller">): MsgHdrs {
  const h = natsHeaders();
  h.set(HEADER_TENANT, opts.tenantId);
  h.set(HEADER_CALLER, formatCaller(opts.caller));
  injectTrace({ get: () => undefined, set: (k, v) => h.set(k, v), keys: () => [] });
  return h;
}

/** The stream settings a caller chose (unset ones keep the protocol's defaults). */
export function streamOptions(opts: ProxyCallOptions): { timeoutMs: number; windowChunks?: number; windowBytes?: number; heartbeatMs?: number; idleTimeoutMs?: number } {
  return {
    timeoutMs: opts.timeoutMs,
    ...(opts.windowChunks ? { windowChunks: opts.windowChunks } : {}),
    ...(opts.windowBytes ? { windowBytes: opts.windowBytes } : {}),
    ...(opts.heartbeatMs ? { heartbeatMs: opts.heartbeatMs } : {}),
    ...(opts.idleTimeoutMs ? { idleTimeoutMs: opts.idleTimeoutMs } : {}),
  };
}
