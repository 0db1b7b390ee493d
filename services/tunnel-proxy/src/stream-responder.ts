/** The responding side of the tunnel's chunked stream (see stream-protocol.ts): the tunnel-proxy. */
import { createInbox, headers as natsHeaders, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { Code, DaaluError, errorHeaders } from "@daalu/runtime";
import { DEFAULT_HEARTBEAT_MS, DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_CHUNK_BYTES, DEFAULT_WINDOW_BYTES, DEFAULT_WINDOW_CHUNKS, STREAM_ACK, STREAM_CANCEL, STREAM_CTL, STREAM_HEAD_LEN, STREAM_KIND, STREAM_SEQ, STREAM_WINDOW, type StreamTimings } from "./stream-protocol.js";

const COMPLETE = "complete";

/** The responding side of one stream (the tunnel-proxy). */
export interface StreamResponder {
  /**
   * Aborted when the requester cancels or goes silent, or the stream failed
   * or could not be sent; not when it completed (end/full): a completed
   * call has nothing left to cancel, and aborting costs an error and every
   * listener's work per call.
   */
  readonly signal: AbortSignal;
  /** Headers of the request message. */
  readonly requestHeaders: MsgHdrs | undefined;
  /** Sends the head; chunks may follow. */
  head(payload: Uint8Array, headers?: MsgHdrs): void;
  /** Sends body bytes; resolves once they are sent, waiting for credit first. Rejects when the stream was aborted. */
  write(data: Uint8Array): Promise<void>;
  /** Head and whole body in one message (small, already complete answers). False when it does not fit: use head/write/end. */
  full(head: Uint8Array, body: Uint8Array, headers?: MsgHdrs): boolean;
  end(): void;
  /** Ends the stream with an error (before or after the head). */
  fail(err: unknown): void;
  /** Body bytes written so far. */
  readonly bytesOut: number;
}

export interface AcceptOptions extends StreamTimings {
  /** Caps on the requester's window. */
  maxWindowChunks?: number;
  maxWindowBytes?: number;
  maxChunkBytes?: number;
}

/** Takes a request message (with a reply subject) and returns its responder. */
export function acceptStream(nc: NatsConnection, msg: Msg, opts: AcceptOptions = {}): StreamResponder {
  const reply = msg.reply;
  if (!reply) throw new DaaluError(Code.InvalidArgument, "a stream request needs a reply subject", { reason: "NO_REPLY_SUBJECT" });
  const [wc, wb] = (msg.headers?.get(STREAM_WINDOW) ?? "").split(",").map(Number);
  const windowChunks = Math.max(1, Math.min(wc || DEFAULT_WINDOW_CHUNKS, opts.maxWindowChunks ?? DEFAULT_WINDOW_CHUNKS * 4));
  const windowBytes = Math.max(1024, Math.min(wb || DEFAULT_WINDOW_BYTES, opts.maxWindowBytes ?? DEFAULT_WINDOW_BYTES * 4));
  const maxChunk = Math.min(opts.maxChunkBytes ?? DEFAULT_MAX_CHUNK_BYTES, windowBytes);
  const heartbeatMs = opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const idleMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;

  const ac = new AbortController();
  let ctlSub: Subscription | undefined;
  let ctl = "";
  let seq = 0;
  let acked = 0;
  let unackedBytes = 0;
  const sizes: number[] = []; // sizes of sent-but-unacked chunks, in seq order
  let waiter: (() => void) | undefined;
  let lastHeard = Date.now();
  let lastSent = Date.now();
  let bytesOut = 0;
  let done = false;
  let timer: NodeJS.Timeout | undefined;

  const finish = (reason: string) => {
    if (done) return;
    done = true;
    if (timer) clearInterval(timer);
    ctlSub?.unsubscribe();
    if (reason !== COMPLETE) ac.abort(new DaaluError(Code.Canceled, reason, { reason: "STREAM_CLOSED" }));
    waiter?.();
  };
  const send = (h: MsgHdrs, data?: Uint8Array) => {
    lastSent = Date.now();
    try {
      nc.publish(reply, data ?? new Uint8Array(0), { headers: h });
    } catch (err) {
      // The connection closed under us: nobody can hear the rest of this stream.
      finish(`cannot publish: ${(err as Error).message}`);
    }
  };
  const kind = (k: string) => {
    const h = natsHeaders();
    h.set(STREAM_KIND, k);
    return h;
  };
  const hasCredit = () => seq - acked < windowChunks && unackedBytes < windowBytes;

  return {
    signal: ac.signal,
    requestHeaders: msg.headers,
    get bytesOut() {
      return bytesOut;
    },
    head(payload, extra) {
      if (done) return;
      ctl = createInbox();
      ctlSub = nc.subscribe(ctl, {
        callback: (err, m) => {
          if (err || done) return;
          lastHeard = Date.now();
          const h = m.headers;
          if (h?.has(STREAM_CANCEL)) {
            finish(`cancelled by the requester: ${h.get(STREAM_CANCEL)}`);
            return;
          }
          const a = Number(h?.get(STREAM_ACK) ?? NaN);
          if (Number.isInteger(a) && a > acked && a <= seq) {
            for (; acked < a; acked++) unackedBytes -= sizes.shift() ?? 0;
            if (hasCredit()) {
              const w = waiter;
              waiter = undefined;
              w?.();
            }
          }
        },
      });
      const h = kind("head");
      if (extra) for (const k of extra.keys()) h.set(k, extra.get(k));
      h.set(STREAM_CTL, ctl);
      lastHeard = Date.now();
      send(h, payload);
      timer = setInterval(() => {
        const now = Date.now();
        if (now - lastHeard > idleMs) {
          finish(`the requester was silent for ${idleMs} ms`);
          return;
        }
        if (now - lastSent >= heartbeatMs) send(kind("hb"));
      }, Math.max(10, Math.min(heartbeatMs, idleMs) / 2));
      timer.unref();
    },
    async write(data) {
      for (let off = 0; off < data.length || (off === 0 && data.length === 0); off += maxChunk) {
        while (!done && !hasCredit()) await new Promise<void>((r) => (waiter = r));
        if (done) throw ac.signal.aborted ? ac.signal.reason : new DaaluError(Code.FailedPrecondition, "the stream is already complete", { reason: "STREAM_CLOSED" });
        const part = data.subarray(off, Math.min(data.length, off + maxChunk));
        if (part.length === 0) return;
        seq++;
        sizes.push(part.length);
        unackedBytes += part.length;
        bytesOut += part.length;
        const h = kind("chunk");
        h.set(STREAM_SEQ, String(seq));
        send(h, part);
      }
    },
    full(head, body, extra) {
      if (done) return true;
      const max = nc.info?.max_payload ?? 1024 * 1024;
      if (head.length + body.length > max - 4096) return false;
      const h = kind("full");
      if (extra) for (const k of extra.keys()) h.set(k, extra.get(k));
      h.set(STREAM_HEAD_LEN, String(head.length));
      const data = new Uint8Array(head.length + body.length);
      data.set(head, 0);
      data.set(body, head.length);
      bytesOut += body.length;
      send(h, data);
      finish(COMPLETE);
      return true;
    },
    end() {
      if (done) return;
      const h = kind("end");
      h.set(STREAM_SEQ, String(seq));
      send(h);
      finish(COMPLETE);
    },
    fail(err) {
      if (done) return;
      send(errorHeaders(DaaluError.from(err), kind("error")));
      finish("failed");
    },
  };
}
