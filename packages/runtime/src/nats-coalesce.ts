/**
 * One socket write per event-loop turn on a NATS connection, instead of one
 * per microtask drain.
 *
 * nats.js buffers every command and flushes the buffer in a microtask queued
 * by the first command after a flush. A service handles each call in its own
 * I/O callback (an HTTP request, a NATS message, a gRPC frame), so under load
 * every call's publish became a write syscall of its own (the gateway's and
 * the tunnel-proxy's profiles at 64 callers: 10–14 % of their CPU in those
 * writes), and nats-server woke to read each. Here the flush waits for the
 * event loop's check phase (setImmediate), after every I/O callback of the
 * turn ran: the commands of all calls that turn leave in one write. A lone
 * call waits no timer, only for the rest of the current turn.
 *
 * What nats.js guarantees stays: a full buffer (its pendingLimit) is still
 * written at once; flush() and close() write what is buffered before they go
 * on; while disconnected the buffer waits for the reconnect, as before.
 *
 * This wraps a method of nats.js's protocol handler (`nc.protocol`), which is
 * not public API: when its shape is not the expected one (another nats.js
 * version), the connection is left as nats.js made it and `false` returned.
 */
import type { NatsConnection } from "@nats-io/transport-node";

interface ProtocolHandler {
  flushPending(): void;
  flush(p?: unknown): unknown;
  close(err?: Error): Promise<void>;
  outbound: { size(): number };
  pendingLimit: number;
}

const COALESCED = Symbol.for("daalu.nats.coalesced");

export function coalesceNatsWrites(nc: NatsConnection): boolean {
  const proto = (nc as unknown as { protocol?: Partial<ProtocolHandler> & { [COALESCED]?: true } }).protocol;
  if (!proto || proto[COALESCED]) return proto?.[COALESCED] === true;
  if (typeof proto.flushPending !== "function" || typeof proto.flush !== "function" || typeof proto.close !== "function" || typeof proto.outbound?.size !== "function" || typeof proto.pendingLimit !== "number") return false;
  const p = proto as ProtocolHandler;
  const writeNow = p.flushPending.bind(p);
  const flush = p.flush.bind(p);
  const close = p.close.bind(p);
  let scheduled: NodeJS.Immediate | undefined;
  const now = () => {
    if (scheduled) clearImmediate(scheduled);
    scheduled = undefined;
    writeNow();
  };
  p.flushPending = () => {
    // Over the limit nats.js wants the bytes out now (it calls here from sendCommand).
    if (p.outbound.size() >= p.pendingLimit) return now();
    scheduled ??= setImmediate(now);
  };
  // flush() sends a PING and waits for its PONG: the buffered commands go first, at once.
  p.flush = (q?: unknown) => {
    const r = flush(q);
    now();
    return r;
  };
  p.close = (err?: Error) => {
    now();
    return close(err);
  };
  proto[COALESCED] = true;
  return true;
}
