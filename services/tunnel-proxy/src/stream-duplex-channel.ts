/**
 * One established duplex stream over core NATS (see stream-duplex.ts for how
 * it is opened): both ends are the same state machine. Each end has its own
 * inbox and publishes to the other's:
 *
 *   chunk (Daalu-Stream-Seq: 1..n)   bytes, while the peer's window has room
 *   ack   (Daalu-Stream-Ack: n)      the last chunk this end's reader consumed
 *   eof   (Daalu-Stream-Seq: n)      half-close: no chunk after n
 *   close (Daalu-Stream-Cancel: why) both directions end now
 *   hb                               nothing else was sent for heartbeatMs
 *
 * Credit is the one of stream-protocol.ts, in both directions: a writer never
 * has more than the reader's window (chunks and bytes) unacknowledged, and a
 * reader acks only what its consumer pulled, so a slow consumer stops the
 * other end's writer. An end that hears nothing for idleTimeoutMs closes the
 * stream ("the peer was silent").
 */
import { headers as natsHeaders, type Msg, type MsgHdrs, type NatsConnection } from "@nats-io/transport-node";
import { Code, DaaluError } from "@daalu/runtime";
import { DEFAULT_HEARTBEAT_MS, DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_CHUNK_BYTES, STREAM_ACK, STREAM_CANCEL, STREAM_KIND, STREAM_SEQ, type StreamTimings } from "./stream-protocol.js";

/** Both directions of a session's bytes. */
export interface DuplexChannel {
  /** Sends bytes (cut into chunks), waiting for the peer's credit. Rejects once the channel is closed or this end half-closed. */
  write(data: Uint8Array): Promise<void>;
  /** The next bytes from the peer, in order; null after the peer's half-close. Rejects once the channel is closed. */
  read(): Promise<Uint8Array | null>;
  /** Half-close: this end sends no more (the peer's read() gets null after the last chunk). */
  end(): void;
  /** Ends both directions and tells the peer why (a no-op once closed). */
  close(reason: string): void;
  /** Aborted when the channel closes for any reason, with a DaaluError STREAM_CLOSED whose message is the reason; also aborted (reason "complete") when both ends half-closed and everything was read. */
  readonly signal: AbortSignal;
  /** Why the channel closed: set once signal is aborted. */
  readonly closeReason: string | undefined;
  /** True when the peer closed (its reason is closeReason), false when this end did. */
  readonly closedByPeer: boolean;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

/** What both ends know once the head went one way. */
export interface ChannelSetup extends StreamTimings {
  nc: NatsConnection;
  /** The peer's inbox. */
  peer: string;
  /** The peer's receive window: what this end may have unacknowledged. */
  sendWindow: { chunks: number; bytes: number };
  /** This end's receive window (announced to the peer). */
  recvWindow: { chunks: number; bytes: number };
  maxChunkBytes?: number;
  /** Called once when the channel closes (remove the inbox route). */
  onClosed(): void;
}

/** The reason a channel gets when both ends half-closed. */
export const CHANNEL_COMPLETE = "complete";

/** A channel and the function its inbox subscription hands every message to. */
export function duplexChannel(s: ChannelSetup): { channel: DuplexChannel; deliver(err: Error | null, m: Msg | undefined): void } {
  const heartbeatMs = s.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const idleMs = s.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const maxChunk = Math.min(s.maxChunkBytes ?? DEFAULT_MAX_CHUNK_BYTES, s.sendWindow.bytes);
  const ac = new AbortController();
  let closeReason: string | undefined;
  let closedByPeer = false;
  // Sending side.
  let seq = 0;
  let acked = 0;
  let unackedBytes = 0;
  const sizes: number[] = [];
  let creditWaiter: (() => void) | undefined;
  let sentEof = false;
  // Receiving side.
  const queue: Uint8Array[] = [];
  let expected = 1;
  let consumed = 0;
  let ackedSent = 0;
  let consumedBytes = 0;
  let peerEofAt = -1;
  let readWaiter: (() => void) | undefined;
  let bytesIn = 0;
  let bytesOut = 0;
  let lastHeard = Date.now();
  let lastSent = Date.now();

  const wakeAll = () => {
    const c = creditWaiter;
    const r = readWaiter;
    creditWaiter = readWaiter = undefined;
    c?.();
    r?.();
  };
  const publish = (kind: string, set?: (h: MsgHdrs) => void, data?: Uint8Array) => {
    const h = natsHeaders();
    h.set(STREAM_KIND, kind);
    set?.(h);
    lastSent = Date.now();
    try {
      s.nc.publish(s.peer, data ?? new Uint8Array(0), { headers: h });
    } catch (err) {
      finish(`cannot publish: ${(err as Error).message}`, false, false);
    }
  };
  const finish = (reason: string, byPeer: boolean, tell: boolean) => {
    if (closeReason !== undefined) return;
    if (tell) publish("close", (h) => h.set(STREAM_CANCEL, reason));
    closeReason = reason;
    closedByPeer = byPeer;
    clearInterval(timer);
    s.onClosed();
    ac.abort(new DaaluError(Code.Canceled, reason, { reason: "STREAM_CLOSED" }));
    wakeAll();
  };
  const closedError = () => new DaaluError(Code.Canceled, closeReason ?? "closed", { reason: "STREAM_CLOSED" });
  const hasCredit = () => seq - acked < s.sendWindow.chunks && unackedBytes < s.sendWindow.bytes;
  const maybeComplete = () => {
    if (sentEof && peerEofAt >= 0 && consumed === peerEofAt && queue.length === 0 && acked === seq) finish(CHANNEL_COMPLETE, false, false);
  };
  const sendAck = () => {
    if (consumed === ackedSent) return;
    ackedSent = consumed;
    consumedBytes = 0;
    publish("ack", (h) => h.set(STREAM_ACK, String(consumed)));
  };

  const timer = setInterval(() => {
    const now = Date.now();
    if (now - lastHeard > idleMs) finish(`the peer was silent for ${idleMs} ms`, false, true);
    else if (now - lastSent >= heartbeatMs) publish("hb");
  }, Math.max(10, Math.min(heartbeatMs, idleMs) / 2));
  timer.unref();

  const deliver = (err: Error | null, m: Msg | undefined) => {
    if (closeReason !== undefined) return;
    if (err || !m) {
      finish(`the stream's connection failed: ${err?.message ?? "no message"}`, false, false);
      return;
    }
    lastHeard = Date.now();
    const h = m.headers;
    switch (h?.get(STREAM_KIND)) {
      case "chunk": {
        const n = Number(h.get(STREAM_SEQ));
        if (n !== expected || peerEofAt >= 0) {
          finish(`stream chunk ${expected} was lost (got ${n})`, false, true);
          return;
        }
        expected++;
        bytesIn += m.data.length;
        queue.push(m.data);
        break;
      }
      case "ack": {
        const a = Number(h.get(STREAM_ACK));
        if (Number.isInteger(a) && a > acked && a <= seq) for (; acked < a; acked++) unackedBytes -= sizes.shift() ?? 0;
        break;
      }
      case "eof":
        peerEofAt = Number(h.get(STREAM_SEQ));
        break;
      case "close":
        finish(h.get(STREAM_CANCEL) || "closed by the peer", true, false);
        return;
      default:
        return; // hb, or a kind from a newer peer
    }
    wakeAll();
    maybeComplete();
  };

  const channel: DuplexChannel = {
    async write(data) {
      for (let off = 0; off < data.length; off += maxChunk) {
        while (closeReason === undefined && !hasCredit()) await new Promise<void>((r) => (creditWaiter = r));
        if (closeReason !== undefined) throw closedError();
        if (sentEof) throw new DaaluError(Code.FailedPrecondition, "this end already half-closed the stream", { reason: "STREAM_CLOSED" });
        const part = data.subarray(off, Math.min(data.length, off + maxChunk));
        seq++;
        sizes.push(part.length);
        unackedBytes += part.length;
        bytesOut += part.length;
        const n = seq;
        publish("chunk", (h) => h.set(STREAM_SEQ, String(n)), part);
      }
    },
    async read() {
      for (;;) {
        const next = queue.shift();
        if (next) {
          consumed++;
          consumedBytes += next.length;
          // Ack in batches, and always when caught up so the writer never waits on us.
          if (consumed - ackedSent >= Math.max(1, s.recvWindow.chunks >> 2) || consumedBytes >= s.recvWindow.bytes >> 2 || queue.length === 0) sendAck();
          maybeComplete();
          return next;
        }
        if (peerEofAt >= 0 && consumed >= peerEofAt) return null;
        if (closeReason !== undefined) {
          if (closeReason === CHANNEL_COMPLETE) return null;
          throw closedError();
        }
        await new Promise<void>((r) => (readWaiter = r));
      }
    },
    end() {
      if (sentEof || closeReason !== undefined) return;
      sentEof = true;
      publish("eof", (h) => h.set(STREAM_SEQ, String(seq)));
      maybeComplete();
    },
    close(reason) {
      finish(reason, false, true);
    },
    signal: ac.signal,
    get closeReason() {
      return closeReason;
    },
    get closedByPeer() {
      return closedByPeer;
    },
    get bytesIn() {
      return bytesIn;
    },
    get bytesOut() {
      return bytesOut;
    },
  };
  return { channel, deliver };
}
