import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { NatsConnection } from "@nats-io/transport-node";
import { edgev1 } from "@daalu/proto";
import { tunnelSubject } from "@daalu/runtime";
import { streamOptions, tunnelHeaders, type ProxyCallOptions } from "./client.js";
import { SESSION_HEARTBEAT_MS, SESSION_IDLE_TIMEOUT_MS } from "./stream-protocol.js";
import { openDuplex } from "./stream-duplex.js";
import type { DuplexChannel } from "./stream-duplex-channel.js";

/** An opened session: the API server's response head, and the bytes both ways. */
export interface SessionAnswer {
  /** 101 when upgraded; otherwise the API server's refusal, whose body the channel carries before it closes. */
  status: number;
  headers: { name: string; value: string }[];
  channel: DuplexChannel;
}

export type SessionCallOptions = Omit<ProxyCallOptions, "signal">;

/**
 * Opens an upgraded session (exec, attach, port-forward) through the tunnel
 * of a tenant's cluster. Rejects with a DaaluError before the head (cluster
 * unknown, edge unreachable or refusing, audit unavailable, session limit).
 */
export async function sessionCall(nc: NatsConnection, req: { method: string; path: string; headers: { name: string; value: string }[] }, opts: SessionCallOptions): Promise<SessionAnswer> {
  const payload = toBinary(edgev1.SessionOpenSchema, create(edgev1.SessionOpenSchema, { request: { target: "kubernetes", method: req.method, path: req.path, headers: req.headers } }));
  const rep = await openDuplex(nc, tunnelSubject(opts.prefix, opts.tenantId, opts.clusterId, "Session"), payload, {
    headers: tunnelHeaders(opts),
    heartbeatMs: SESSION_HEARTBEAT_MS,
    idleTimeoutMs: SESSION_IDLE_TIMEOUT_MS,
    ...streamOptions(opts),
  });
  const head = fromBinary(edgev1.SessionHeadSchema, rep.head);
  return { status: head.status, headers: head.headers.map((x) => ({ name: x.name, value: x.value })), channel: rep.channel };
}
