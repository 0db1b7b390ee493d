/**
 * A chunked response stream over core NATS with credit-based backpressure:
 * the one protocol between the gateway (requester) and the tunnel-proxy
 * (responder) for calls through the tunnel. Transport only: payloads are bytes.
 *
 * Requester                               Responder
 *   PUB subject, reply=INBOX  ──────────▶  (Daalu-Stream-Window: chunks,bytes)
 *   (INBOX = <per-connection prefix>.<n>: one wildcard subscription serves all)
 *   INBOX  ◀── head  (Daalu-Stream-Ctl: CTL, payload = head bytes)
 *   INBOX  ◀── chunk (Daalu-Stream-Seq: 1..n) while unacked < window
 *   CTL    ──▶ ack   (Daalu-Stream-Ack: last consumed seq; also the heartbeat)
 *   INBOX  ◀── end | error (Daalu-Error-* headers)   or   CTL ──▶ cancel
 *   INBOX  ◀── full  (head + whole body in one message: small unary answers)
 *   INBOX  ◀── hb    (responder heartbeat while it has nothing to send)
 *
 * Bounds: the responder never has more than the window (64 chunks / 1 MiB by
 * default) unacknowledged, and the requester acks only what its consumer
 * pulled, so a slow reader stops the responder instead of growing a buffer
 * anywhere (pinned by test/stream.test.ts "slow reader"). Either side gives up
 * when the other is silent for idleTimeoutMs: the responder aborts its
 * upstream call, the requester fails its iterator (pinned by "cancel" and
 * "requester vanishes").
 */
import { createInbox, headers as natsHeaders, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { Code, DaaluError, errorFromHeaders, errorHeaders, inboxMux } from "@daalu/runtime";

export const STREAM_KIND = "Daalu-Stream";
export const STREAM_SEQ = "Daalu-Stream-Seq";
export const STREAM_CTL = "Daalu-Stream-Ctl";
export const STREAM_WINDOW = "Daalu-Stream-Window";
export const STREAM_HEAD_LEN = "Daalu-Stream-Head-Len";
export const STREAM_ACK = "Daalu-Stream-Ack";
export const STREAM_CANCEL = "Daalu-Stream-Cancel";

export const DEFAULT_WINDOW_CHUNKS = 64;
export const DEFAULT_WINDOW_BYTES = 1024 * 1024;
export const DEFAULT_HEARTBEAT_MS = 5_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 15_000;
/** Chunks are cut to this size so that one message stays far below NATS max_payload. */
export const DEFAULT_MAX_CHUNK_BYTES = 128 * 1024;

export interface StreamTimings {
  /** Each side sends something at least this often. */
  heartbeatMs?: number;
  /** Each side gives up after this long without hearing from the other. */
  idleTimeoutMs?: number;
}

// ---------------------------------------------------------------- responder

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

// ---------------------------------------------------------------- requester

/** What a requester gets once the head arrived. */
export interface StreamReply {
  head: Uint8Array;
  headers: MsgHdrs | undefined;
  /** True when the whole body came with the head (`full`). */
  complete: boolean;
  /**
   * The body, in order. Pulling the next chunk acknowledges the previous ones,
   * so a consumer that stops pulling stops the responder. `return()` (a
   * `break` out of for-await) cancels the stream.
   */
  body: AsyncIterableIterator<Uint8Array>;
  cancel(reason?: string): void;
}

export interface RequestStreamOptions extends StreamTimings {
  headers?: MsgHdrs;
  /** How long to wait for the head. */
  timeoutMs: number;
  windowChunks?: number;
  windowBytes?: number;
  signal?: AbortSignal;
}

type Frame = { kind: "chunk"; seq: number; data: Uint8Array } | { kind: "end"; seq: number } | { kind: "error"; err: DaaluError };

/** Sends `payload` to `subject` and resolves with the stream's head. */
export function requestStream(nc: NatsConnection, subject: string, payload: Uint8Array, opts: RequestStreamOptions): Promise<StreamReply> {
  const windowChunks = opts.windowChunks ?? DEFAULT_WINDOW_CHUNKS;
  const windowBytes = opts.windowBytes ?? DEFAULT_WINDOW_BYTES;
  const heartbeatMs = opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const idleMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  // The connection's one wildcard inbox subscription serves every stream (runtime's inboxMux).
  const mux = inboxMux(nc);
  const inbox = mux.inbox();
  const queue: Frame[] = [];
  let wake: (() => void) | undefined;
  let ctl = "";
  let expected = 1;
  let consumed = 0;
  let ackedSent = 0;
  let unackedBytes = 0;
  let closed = false;
  let lastHeard = Date.now();
  let timer: NodeJS.Timeout | undefined;
  let headTimer: NodeJS.Timeout | undefined;
  let resolveHead!: (r: StreamReply) => void;
  let rejectHead!: (e: unknown) => void;
  let headDone = false;
  const headP = new Promise<StreamReply>((res, rej) => ((resolveHead = res), (rejectHead = rej)));

  const push = (f: Frame) => {
    queue.push(f);
    const w = wake;
    wake = undefined;
    w?.();
  };
  const cleanup = () => {
    if (closed) return;
    closed = true;
    route.remove();
    if (timer) clearInterval(timer);
    if (headTimer) clearTimeout(headTimer);
    opts.signal?.removeEventListener("abort", onAbort);
  };
  const ctlSend = (h: MsgHdrs) => {
    try {
      if (ctl && !nc.isClosed()) nc.publish(ctl, new Uint8Array(0), { headers: h });
    } catch {
      // Closed or draining: the responder's idle timeout ends its side.
    }
  };
  const ack = () => {
    if (consumed === ackedSent) return;
    const h = natsHeaders();
    h.set(STREAM_ACK, String(consumed));
    ackedSent = consumed;
    unackedBytes = 0;
    ctlSend(h);
  };
  const cancel = (reason = "cancelled") => {
    if (closed) return;
    const h = natsHeaders();
    h.set(STREAM_CANCEL, reason);
    ctlSend(h);
    push({ kind: "error", err: new DaaluError(Code.Canceled, reason, { reason: "STREAM_CANCELLED" }) });
    cleanup();
    if (!headDone) rejectHead(new DaaluError(Code.Canceled, reason, { reason: "STREAM_CANCELLED" }));
  };
  const onAbort = () => cancel("the requester gave up");

  const route = mux.add(inbox, (err, m) => {
    if (closed) return;
    lastHeard = Date.now();
    if (err || !m) {
      push({ kind: "error", err: DaaluError.from(err) });
      return;
    }
    const h = m.headers;
    if (!headDone && h && (h as MsgHdrs & { code?: number }).code === 503 && !h.has(STREAM_KIND)) {
      headDone = true;
      cleanup();
      rejectHead(new DaaluError(Code.Unavailable, "no hub node serves this cluster's tunnel (is the tunnel-proxy running?)", { reason: "TUNNEL_UNAVAILABLE", cause: new Error(`nothing answers ${subject}`) }));
      return;
    }
    const k = h?.get(STREAM_KIND);
    if (k === "hb") return;
    if (k === "error") {
      const e = errorFromHeaders(h) ?? new DaaluError(Code.Unknown, "stream failed");
      if (!headDone) {
        headDone = true;
        cleanup();
        rejectHead(e);
      } else {
        push({ kind: "error", err: e });
        cleanup();
      }
      return;
    }
    if (k === "head" || k === "full") {
      if (headDone) return;
      headDone = true;
      if (headTimer) clearTimeout(headTimer);
      if (k === "full") {
        const n = Number(h!.get(STREAM_HEAD_LEN));
        const head = m.data.subarray(0, n);
        const rest = m.data.subarray(n);
        if (rest.length > 0) queue.push({ kind: "chunk", seq: 1, data: rest });
        queue.push({ kind: "end", seq: rest.length > 0 ? 1 : 0 });
        cleanup();
        resolveHead(reply(head, h, true));
        return;
      }
      ctl = h!.get(STREAM_CTL);
      timer = setInterval(() => {
        if (Date.now() - lastHeard > idleMs) {
          push({ kind: "error", err: new DaaluError(Code.Unavailable, `the stream's responder was silent for ${idleMs} ms`, { reason: "STREAM_STALLED" }) });
          cancel("responder silent");
          return;
        }
        // The heartbeat: repeats the last ack so the responder knows we are alive even while we consume nothing.
        const hb = natsHeaders();
        hb.set(STREAM_ACK, String(ackedSent));
        ctlSend(hb);
      }, heartbeatMs);
      timer.unref();
      resolveHead(reply(m.data, h, false));
      return;
    }
    if (k === "chunk") {
      const seq = Number(h!.get(STREAM_SEQ));
      if (seq !== expected) {
        push({ kind: "error", err: new DaaluError(Code.DataLoss, `stream chunk ${expected} was lost (got ${seq})`, { reason: "STREAM_GAP" }) });
        cancel("gap");
        return;
      }
      expected++;
      push({ kind: "chunk", seq, data: m.data });
      return;
    }
    if (k === "end") {
      push({ kind: "end", seq: Number(h!.get(STREAM_SEQ)) });
      cleanup();
    }
  });

  const reply = (head: Uint8Array, headers: MsgHdrs | undefined, complete: boolean): StreamReply => {
    let finished = false;
    const body: AsyncIterableIterator<Uint8Array> = {
      [Symbol.asyncIterator]() {
        return body;
      },
      async next(): Promise<IteratorResult<Uint8Array>> {
        if (finished) return { done: true, value: undefined };
        for (;;) {
          const f = queue.shift();
          if (f) {
            if (f.kind === "chunk") {
              consumed = f.seq;
              unackedBytes += f.data.length;
              // Ack in batches, and always when caught up so the responder never waits on us.
              if (consumed - ackedSent >= Math.max(1, windowChunks >> 2) || unackedBytes >= windowBytes >> 2 || queue.length === 0) ack();
              return { done: false, value: f.data };
            }
            finished = true;
            if (f.kind === "end") {
              if (f.seq !== consumed) throw new DaaluError(Code.DataLoss, `stream ended at ${f.seq} after ${consumed} chunks`, { reason: "STREAM_GAP" });
              return { done: true, value: undefined };
            }
            throw f.err;
          }
          if (closed && queue.length === 0) {
            finished = true;
            return { done: true, value: undefined };
          }
          await new Promise<void>((r) => (wake = r));
        }
      },
      async return(): Promise<IteratorResult<Uint8Array>> {
        if (!finished) {
          finished = true;
          cancel("the reader stopped");
        }
        return { done: true, value: undefined };
      },
    };
    return { head, headers, complete, body, cancel };
  };

  headTimer = setTimeout(() => {
    if (headDone) return;
    headDone = true;
    cleanup();
    rejectHead(new DaaluError(Code.DeadlineExceeded, `no answer through the cluster's tunnel within ${opts.timeoutMs} ms`, { reason: "TUNNEL_TIMEOUT", cause: new Error(`no answer from ${subject}`) }));
  }, opts.timeoutMs);
  if (opts.signal) {
    if (opts.signal.aborted) queueMicrotask(onAbort);
    else opts.signal.addEventListener("abort", onAbort, { once: true });
  }
  const h = opts.headers ?? natsHeaders();
  h.set(STREAM_WINDOW, `${windowChunks},${windowBytes}`);
  nc.publish(subject, payload, { reply: inbox, headers: h });
  return headP;
}
