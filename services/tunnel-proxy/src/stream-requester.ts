/** The requesting side of the tunnel's chunked stream (see stream-protocol.ts): the gateway. */
import { headers as natsHeaders, type MsgHdrs, type NatsConnection } from "@nats-io/transport-node";
import { Code, DaaluError, errorFromHeaders, inboxMux } from "@daalu/runtime";
import { noResponderError } from "./no-responder.js";
import { DEFAULT_HEARTBEAT_MS, DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_WINDOW_BYTES, DEFAULT_WINDOW_CHUNKS, STREAM_ACK, STREAM_CANCEL, STREAM_CTL, STREAM_HEAD_LEN, STREAM_KIND, STREAM_SEQ, STREAM_WINDOW, type StreamTimings } from "./stream-protocol.js";

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
    clearTimeout(headTimer);
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
      void noResponderError(nc, subject).then(rejectHead);
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
      clearTimeout(headTimer);
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

  // Read by cleanup() and the head handler above, which only run after this line (callbacks, the abort listener).
  const headTimer = setTimeout(() => {
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
