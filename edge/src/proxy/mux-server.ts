/**
 * The edge side of EdgeService.ProxyMux: many Proxy calls over one long-lived
 * bidi stream from the hub, so a call costs the edge a few frames instead of
 * an HTTP/2 stream, its metadata and grpc-js's per-call stack.
 *
 * Every call runs through the same code as Proxy (exchange.ts), with MuxCall
 * below as its sink, so the allowlists, the Statuses the edge answers itself,
 * the token, retries and cancellation are the same on both paths. The hub's
 * frames are decoded by hand (mux-decode.ts); one that does not decode fails
 * its call (or is logged, without a call id), never the stream.
 *
 * - Backpressure per call: the hub grants each call a window of body bytes
 *   (MuxOpen.window_bytes, then MuxCredit). MuxCall.write() returns false
 *   once the window is spent, and the handler stops reading the upstream
 *   response until 'drain', which comes with the next credit. A slow reader
 *   stalls its own call only, never the stream. Across all calls, a full
 *   stream (grpc-js's write() false) also pauses every call until it drains.
 *   Pinned by edge/test/mux.test.ts "slow reader".
 * - Cancellation: MuxCancel, or the stream ending for any reason (the hub
 *   went away, the tunnel broke), cancels the call's upstream request.
 */
import { edgev1 } from "@daalu/proto";
import { grpc, type Logger } from "@daalu/runtime";
import { EDGE_VERSION } from "../version.js";
import { startCall, type CallSink, type ProxyContext, type ProxyExchange } from "./exchange.js";
import { decodeMuxRequest, type MuxRequestIn } from "./mux-decode.js";
import { chunkFrame, endFrame, errorFrame, headFrame, helloFrame, replyFrame } from "./mux-frames.js";
import type { ResponseHeader } from "./upstream.js";

/** Body bytes a call may send before the hub grants more, when the hub names no window. */
export const DEFAULT_MUX_WINDOW_BYTES = 256 * 1024;
/** The largest window the edge accepts from the hub. */
export const MAX_MUX_WINDOW_BYTES = 8 * 1024 * 1024;

/** The gRPC path of EdgeService.ProxyMux. */
export const PROXY_MUX_METHOD_PATH = `/${edgev1.EdgeService.typeName}/${edgev1.EdgeService.method.proxyMux.name}`;

type MuxStream = grpc.ServerDuplexStream<MuxRequestIn, Uint8Array>;

/** The stream's side shared by its calls: sending frames and the stream's own flow control. */
interface MuxOut {
  /** An encoded ProxyMuxResponse (mux-frames.ts). */
  send(frame: Uint8Array): void;
  /** False while grpc-js holds more than its buffer of unsent frames. */
  readonly writable: boolean;
  closed(callId: number): void;
}

/**
 * One call on the stream: the sink of its exchange, with the call's credit.
 *
 * When the hub accepts MuxReply, the head is held until the end of the turn
 * it came in (a microtask): an answer whose body and end came in the same
 * socket read leaves as one frame; otherwise the head and what came with it
 * go as before.
 */
class MuxCall implements CallSink {
  exchange: ProxyExchange | undefined;
  private credit: number;
  private wantsDrain = false;
  private finished = false;
  private held: { status: number; headers: readonly ResponseHeader[]; body: Uint8Array[] } | undefined;

  constructor(
    private readonly id: number,
    window: number,
    private readonly acceptsReply: boolean,
    private readonly out: MuxOut,
  ) {
    this.credit = window;
  }

  head(status: number, headers: readonly ResponseHeader[]): void {
    if (this.finished) return;
    if (this.acceptsReply) {
      this.held = { status, headers, body: [] };
      queueMicrotask(() => this.release());
    } else this.out.send(headFrame(this.id, status, headers));
  }

  chunk(data: Uint8Array): boolean {
    if (this.finished) return true;
    this.credit -= data.length;
    if (this.held) this.held.body.push(data);
    else this.out.send(chunkFrame(this.id, data));
    if (this.credit > 0 && this.out.writable) return true;
    this.wantsDrain = true;
    return false;
  }

  end(): void {
    const h = this.held;
    if (!h) return this.finish(endFrame(this.id));
    this.held = undefined;
    this.finish(replyFrame(this.id, h.status, h.headers, h.body.length === 1 ? h.body[0]! : Buffer.concat(h.body)));
  }

  fail(code: grpc.status, details: string): void {
    this.release();
    this.finish(errorFrame(this.id, code, details));
  }

  grant(bytes: number): void {
    this.credit += bytes;
    this.maybeDrain();
  }

  /** Tells the exchange it may go on when it waits for that and both the call's window and the stream have room. */
  maybeDrain(): void {
    if (!this.wantsDrain || this.credit <= 0 || !this.out.writable) return;
    this.wantsDrain = false;
    this.exchange?.drained();
  }

  cancel(): void {
    if (this.finished) return;
    this.finished = true;
    this.held = undefined;
    this.out.closed(this.id);
    this.exchange?.cancel();
  }

  /** Sends a held head and the body that came with it as separate frames (the answer did not end in the same turn). */
  private release(): void {
    const h = this.held;
    if (!h || this.finished) return;
    this.held = undefined;
    this.out.send(headFrame(this.id, h.status, h.headers));
    if (h.body.length > 0) this.out.send(chunkFrame(this.id, h.body.length === 1 ? h.body[0]! : Buffer.concat(h.body)));
  }

  private finish(frame: Uint8Array): void {
    if (this.finished) return;
    this.finished = true;
    this.out.send(frame);
    this.out.closed(this.id);
  }
}

/** The grpc-js handler of ProxyMux; registerProxyMux() adds it to a server. */
function edgeProxyMuxHandler(ctx: ProxyContext, logger: Logger): grpc.handleBidiStreamingCall<MuxRequestIn, Uint8Array> {
  const log = logger.child({ component: "proxy-mux" });
  return (stream: MuxStream) => {
    const calls = new Map<number, MuxCall>();
    let writable = true;
    let open = true;
    const out: MuxOut = {
      send(frame) {
        if (!open) return;
        if (!stream.write(frame)) writable = false;
      },
      get writable() {
        return writable;
      },
      closed(callId) {
        calls.delete(callId);
      },
    };
    const refuse = (callId: number, code: grpc.status, message: string) => out.send(errorFrame(callId, code, message));
    stream.on("drain", () => {
      writable = true;
      for (const c of calls.values()) c.maybeDrain();
    });
    stream.on("data", (f: MuxRequestIn) => {
      const id = f.callId;
      switch (f.frame.case) {
        case "open": {
          const o = f.frame.value;
          if (id === 0 || calls.has(id)) return refuse(id, grpc.status.INVALID_ARGUMENT, `call id ${id} is 0 or already in use on this stream`);
          if (!o.request) return refuse(id, grpc.status.INVALID_ARGUMENT, "MuxOpen without a request");
          const window = Math.min(o.windowBytes || DEFAULT_MUX_WINDOW_BYTES, MAX_MUX_WINDOW_BYTES);
          const call = new MuxCall(id, window, o.acceptsReply, out);
          calls.set(id, call);
          call.exchange = startCall(ctx, o.request, call, o.deadlineMs > 0 ? Date.now() + o.deadlineMs : Infinity);
          return;
        }
        case "cancel":
          calls.get(id)?.cancel();
          return;
        case "credit":
          calls.get(id)?.grant(f.frame.value.bytes);
          return;
        case "malformed": {
          // The call it was meant for (if its id came before the damage) fails; the stream and the other calls go on.
          log.warn({ callId: id, err: f.frame.value.message }, "a ProxyMux frame from the hub did not decode");
          if (id === 0) return;
          calls.get(id)?.cancel();
          return refuse(id, grpc.status.INVALID_ARGUMENT, f.frame.value.message);
        }
        default:
          log.debug({ frame: f.frame.case }, "ignored a frame the hub does not send");
      }
    });
    const close = () => {
      if (!open) return;
      open = false;
      for (const c of [...calls.values()]) c.cancel();
    };
    stream.on("end", () => {
      close();
      stream.end();
    });
    stream.on("cancelled", close);
    stream.on("error", close);
    stream.write(helloFrame(EDGE_VERSION));
  };
}

/** Adds ProxyMux to a grpc-js server, running each call through exchange.ts with `ctx` (registerProxy calls this). */
export function registerProxyMux(server: grpc.Server, ctx: ProxyContext, logger: Logger): void {
  server.unregister(PROXY_MUX_METHOD_PATH);
  // Frames leave encoded already (mux-frames.ts).
  const asIs = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const ok = server.register(PROXY_MUX_METHOD_PATH, edgeProxyMuxHandler(ctx, logger) as grpc.UntypedHandleCall, asIs as grpc.serialize<unknown>, decodeMuxRequest as grpc.deserialize<unknown>, "bidi");
  if (!ok) throw new Error(`registerProxyMux: could not register ${PROXY_MUX_METHOD_PATH}`);
}
