/**
 * NATS plumbing shared by every adapter: the connection, and the subjects of
 * methods, events, audit records and tunnel calls (docs/subjects.md). The
 * request/reply adapters are nats-server.ts (serveNats) and nats-client.ts
 * (natsClient, natsSender); replies come in through inbox-mux.ts.
 */
import type { DescMethod } from "@bufbuild/protobuf";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { trackNats } from "./metrics.js";
import { coalesceNatsWrites } from "./nats-coalesce.js";

export type { NatsConnection } from "@nats-io/transport-node";

export const DEFAULT_RPC_TIMEOUT_MS = 5_000;

/**
 * Connects with reconnect forever (services ride out NATS restarts).
 *
 * `noAsyncTraces`: without it nats.js builds a stack-capturing RequestError and
 * TimeoutError for every request and subscription timer, whether or not it
 * fails — a fixed cost on every call of every hop. Errors keep their class and
 * `cause` (natsClient maps them by class), only the caller's stack is lost.
 * Writes are coalesced to one per event-loop turn (nats-coalesce.ts).
 */
export async function connectNats(url: string, name: string, logger: Logger): Promise<NatsConnection> {
  const nc = await connect({ servers: url.split(","), name, maxReconnectAttempts: -1, reconnectTimeWait: 250, noAsyncTraces: true });
  if (!coalesceNatsWrites(nc)) logger.warn("nats.js internals are not the expected ones: each publish is written on its own");
  const tracked = trackNats(nc, name);
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect") tracked.up(false);
      else if (s.type === "reconnect") tracked.up(true);
      if (s.type === "disconnect" || s.type === "reconnect" || s.type === "error") logger.warn({ nats: s.type }, "nats connection status");
    }
  })();
  return nc;
}

/**
 * The subject of a method: `[prefix.]daalu.<area>.v1.<Method>`, taken from the
 * proto package so that subjects and contracts cannot drift apart.
 */
export function methodSubject(prefix: string, method: DescMethod): string {
  const pkg = method.parent.typeName.slice(0, method.parent.typeName.lastIndexOf("."));
  return `${prefix ? `${prefix}.` : ""}${pkg}.${method.name}`;
}

/**
 * Event subjects (core NATS and JetStream): `[prefix.]daalu.events.<tenant>.<kind>`.
 * Kinds are dotted, e.g. "cluster.enrolled", "cluster.status", "alert.critical".
 */
export function eventSubject(prefix: string, tenantId: string, kind: string): string {
  return `${prefix ? `${prefix}.` : ""}daalu.events.${tenantId}.${kind}`;
}

/**
 * The JetStream stream that keeps every event subject (`[prefix.]daalu.events.>`)
 * for an hour, so a live view can resume from the sequence it saw last. Stream
 * names cannot contain dots, so the prefix joins with "_". Peering creates it.
 */
export const EVENTS_STREAM = "DAALU_EVENTS";

export function eventsStreamName(prefix: string): string {
  return prefix ? `${prefix}_${EVENTS_STREAM}` : EVENTS_STREAM;
}

/**
 * Audit subjects (JetStream): `[prefix.]daalu.audit.calls.<tenant>.<cluster>`.
 * The `calls` token keeps the stream's wildcard off the audit service's own
 * request subjects (`daalu.audit.v1.<Method>`), which `daalu.audit.*.*` matched.
 */
export function auditSubject(prefix: string, tenantId: string, clusterId: string): string {
  return `${prefix ? `${prefix}.` : ""}daalu.audit.calls.${tenantId}.${clusterId}`;
}

/** Tunnel subjects: `[prefix.]daalu.tunnel.v1.<tenant>.<cluster>.<Method>`, answered by the hub node holding the tunnel. */
export function tunnelSubject(prefix: string, tenantId: string, clusterId: string, method: string): string {
  return `${prefix ? `${prefix}.` : ""}daalu.tunnel.v1.${tenantId}.${clusterId}.${method}`;
}
