/**
 * The duplex variant of the tunnel's stream protocol (stream-protocol.ts), for
 * upgraded sessions (exec, attach, port-forward): bytes flow both ways with
 * the same credit-based backpressure, half-close and cancellation.
 *
 * Requester (gateway)                      Responder (tunnel-proxy)
 *   PUB subject, reply=INBOX-R  ────────▶   (Daalu-Stream-Window: chunks,bytes)
 *   INBOX-R ◀── head (Daalu-Stream-Ctl: INBOX-P, Daalu-Stream-Window, payload = head bytes)
 *           ◀── error (Daalu-Error-* headers) instead of a head
 *   then both ends run the same channel (stream-duplex-channel.ts):
 *   INBOX-P ◀── chunk/ack/eof/close/hb ──▶ INBOX-R
 *
 * Both inboxes are routes of the connection's one wildcard inbox subscription
 * (runtime's inboxMux), so a session costs no SUB on the wire.
 */
import { headers as natsHeaders, type Msg, type MsgHdrs, type NatsConnection } from "@nats-io/transport-node";
import { Code, DaaluError, errorFromHeaders, errorHeaders, inboxMux } from "@daalu/runtime";
import { DEFAULT_WINDOW_BYTES, DEFAULT_WINDOW_CHUNKS, STREAM_CTL, STREAM_KIND, STREAM_WINDOW, type StreamTimings } from "./stream-protocol.js";
import { duplexChannel, type DuplexChannel } from "./stream-duplex-channel.js";
import { noResponderError } from "./no-responder.js";

export interface DuplexWindow {
  windowChunks?: number;
  windowBytes?: number;
  maxChunkBytes?: number;
}

export interface OpenDuplexOptions extends StreamTimings, DuplexWindow {
  headers?: MsgHdrs;
  /** How long to wait for the head. */
  timeoutMs: number;
}

/** What the requester gets once the responder answered. */
export interface DuplexReply {
  head: Uint8Array;
  headers: MsgHdrs | undefined;
  channel: DuplexChannel;
}

function parseWindow(v: string | undefined, cap?: { chunks: number; bytes: number }): { chunks: number; bytes: number } {
  const [c, b] = (v ?? "").split(",").map(Number);
  const chunks = Math.max(1, c || DEFAULT_WINDOW_CHUNKS);
  const bytes = Math.max(1024, b || DEFAULT_WINDOW_BYTES);
  return cap ? { chunks: Math.min(chunks, cap.chunks), bytes: Math.min(bytes, cap.bytes) } : { chunks, bytes };
}

const ownWindow = (o: DuplexWindow) => ({ chunks: o.windowChunks ?? DEFAULT_WINDOW_CHUNKS, bytes: o.windowBytes ?? DEFAULT_WINDOW_BYTES });

/** Sends `payload` to `subject` and resolves with the responder's head and the open channel. */
export function openDuplex(nc: NatsConnection, subject: string, payload: Uint8Array, opts: OpenDuplexOptions): Promise<DuplexReply> {
  const mux = inboxMux(nc);
  const inbox = mux.inbox();
  const recvWindow = ownWindow(opts);
  return new Promise<DuplexReply>((resolve, reject) => {
    let deliver: ((err: Error | null, m: Msg | undefined) => void) | undefined;
    const fail = (e: DaaluError) => {
      clearTimeout(headTimer);
      route.remove();
      reject(e);
    };
    const route = mux.add(inbox, (err, m) => {
      if (deliver) return deliver(err, m);
      if (err || !m) return fail(DaaluError.from(err));
      const h = m.headers;
      if (h && (h as MsgHdrs & { code?: number }).code === 503 && !h.has(STREAM_KIND)) {
        route.remove();
        return void noResponderError(nc, subject).then(fail);
      }
      const k = h?.get(STREAM_KIND);
      if (k === "error") return fail(errorFromHeaders(h) ?? new DaaluError(Code.Unknown, "the session failed"));
      if (k !== "head") return;
      clearTimeout(headTimer);
      const c = duplexChannel({ ...opts, nc, peer: h!.get(STREAM_CTL), sendWindow: parseWindow(h!.get(STREAM_WINDOW)), recvWindow, onClosed: () => route.remove() });
      deliver = c.deliver;
      resolve({ head: m.data, headers: h, channel: c.channel });
    });
    const headTimer = setTimeout(
      () => fail(new DaaluError(Code.DeadlineExceeded, `no answer through the cluster's tunnel within ${opts.timeoutMs} ms`, { reason: "TUNNEL_TIMEOUT" })),
      opts.timeoutMs,
    );
    const h = opts.headers ?? natsHeaders();
    h.set(STREAM_WINDOW, `${recvWindow.chunks},${recvWindow.bytes}`);
    nc.publish(subject, payload, { reply: inbox, headers: h });
  });
}

/** The responding end before its head. */
export interface DuplexResponder {
  readonly requestHeaders: MsgHdrs | undefined;
  /** Sends the head and opens the channel. */
  head(payload: Uint8Array): DuplexChannel;
  /** Refuses the session (before the head). */
  fail(err: unknown): void;
}

export interface AcceptDuplexOptions extends StreamTimings, DuplexWindow {
  /** Caps on the requester's window. */
  maxWindowChunks?: number;
  maxWindowBytes?: number;
}

/** Takes a session request message (with a reply subject). */
export function acceptDuplex(nc: NatsConnection, msg: Msg, opts: AcceptDuplexOptions = {}): DuplexResponder {
  const reply = msg.reply;
  if (!reply) throw new DaaluError(Code.InvalidArgument, "a session request needs a reply subject", { reason: "NO_REPLY_SUBJECT" });
  const sendWindow = parseWindow(msg.headers?.get(STREAM_WINDOW), { chunks: opts.maxWindowChunks ?? DEFAULT_WINDOW_CHUNKS * 4, bytes: opts.maxWindowBytes ?? DEFAULT_WINDOW_BYTES * 4 });
  const recvWindow = ownWindow(opts);
  let answered = false;
  return {
    requestHeaders: msg.headers,
    head(payload) {
      if (answered) throw new DaaluError(Code.FailedPrecondition, "the session was already answered", { reason: "STREAM_CLOSED" });
      answered = true;
      const mux = inboxMux(nc);
      const inbox = mux.inbox();
      const route = mux.add(inbox, (err, m) => c.deliver(err, m));
      const c = duplexChannel({ ...opts, nc, peer: reply, sendWindow, recvWindow, onClosed: () => route.remove() });
      const h = natsHeaders();
      h.set(STREAM_KIND, "head");
      h.set(STREAM_CTL, inbox);
      h.set(STREAM_WINDOW, `${recvWindow.chunks},${recvWindow.bytes}`);
      nc.publish(reply, payload, { headers: h });
      return c.channel;
    },
    fail(err) {
      if (answered) return;
      answered = true;
      const h = natsHeaders();
      h.set(STREAM_KIND, "error");
      try {
        nc.publish(reply, new Uint8Array(0), { headers: errorHeaders(DaaluError.from(err), h) });
      } catch {
        // The connection is gone: the requester's head timeout answers.
      }
    },
  };
}
