/**
 * The edge side of EdgeService.ProxyMux: many Proxy calls over one long-lived
 * bidi stream from the hub, so a call costs the edge a few frames instead of
 * an HTTP/2 stream, its metadata and grpc-js's per-call stack.
 *
 * Every call runs through the same handler as Proxy (server.ts), given a
 * stand-in for grpc-js's call object (MuxCall below), so the allowlists, the
 * Statuses the edge answers itself, the token, retries and cancellation are
 * the same on both paths.
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
import { EventEmitter } from "node:events";
import { create } from "@bufbuild/protobuf";
import { edgev1 } from "@daalu/proto";
import { grpc, grpcDefinition, type Logger } from "@daalu/runtime";
import { EDGE_VERSION } from "../version.js";

/** Body bytes a call may send before the hub grants more, when the hub names no window. */
export const DEFAULT_MUX_WINDOW_BYTES = 256 * 1024;
/** The largest window the edge accepts from the hub. */
export const MAX_MUX_WINDOW_BYTES = 8 * 1024 * 1024;

/** The gRPC path of EdgeService.ProxyMux. */
export const PROXY_MUX_METHOD_PATH = `/${edgev1.EdgeService.typeName}/${edgev1.EdgeService.method.proxyMux.name}`;

/** The Proxy handler (server.ts) every call on the stream runs through. */
type ProxyHandler = grpc.handleServerStreamingCall<edgev1.ProxyRequest, edgev1.ProxyResponse>;
type MuxStream = grpc.ServerDuplexStream<edgev1.ProxyMuxRequest, edgev1.ProxyMuxResponse>;
type Frame = edgev1.ProxyMuxResponse["frame"];

/** The stream's side shared by its calls: sending frames and the stream's own flow control. */
interface MuxOut {
  send(callId: number, frame: Frame): void;
  /** False while grpc-js holds more than its buffer of unsent frames. */
  readonly writable: boolean;
  closed(callId: number): void;
}

/**
 * One call on the stream, shaped as the grpc-js server call the Proxy handler
 * uses: request, write/end, emit("error", status), "cancelled", "drain",
 * getDeadline().
 */
class MuxCall extends EventEmitter {
  cancelled = false;
  private credit: number;
  private wantsDrain = false;
  private finished = false;

  constructor(
    readonly request: edgev1.ProxyRequest,
    private readonly id: number,
    window: number,
    private readonly deadline: number,
    private readonly out: MuxOut,
  ) {
    super();
    this.credit = window;
    // The handler reports failures as grpc-js's call.emit("error", status); here they become an error frame.
    this.on("error", (s: Partial<grpc.StatusObject>) => this.finish({ case: "error", value: create(edgev1.MuxErrorSchema, { code: s.code ?? grpc.status.UNKNOWN, message: s.details ?? "" }) }));
  }

  getDeadline(): number {
    return this.deadline;
  }

  write(m: edgev1.ProxyResponse): boolean {
    if (this.finished) return true;
    if (m.frame.case === "chunk") this.credit -= m.frame.value.data.length;
    if (m.frame.case !== undefined) this.out.send(this.id, m.frame);
    if (this.credit > 0 && this.out.writable) return true;
    this.wantsDrain = true;
    return false;
  }

  end(): void {
    this.finish({ case: "end", value: create(edgev1.MuxEndSchema) });
  }

  grant(bytes: number): void {
    this.credit += bytes;
    this.maybeDrain();
  }

  /** Emits 'drain' when the handler waits for it and both the call's window and the stream have room. */
  maybeDrain(): void {
    if (!this.wantsDrain || this.credit <= 0 || !this.out.writable) return;
    this.wantsDrain = false;
    this.emit("drain");
  }

  cancel(): void {
    if (this.finished) return;
    this.finished = true;
    this.cancelled = true;
    this.out.closed(this.id);
    this.emit("cancelled");
  }

  private finish(frame: Frame): void {
    if (this.finished) return;
    this.finished = true;
    this.out.send(this.id, frame);
    this.out.closed(this.id);
  }
}

/** The grpc-js handler of ProxyMux; registerProxyMux() adds it to a server. */
function edgeProxyMuxHandler(proxy: ProxyHandler, logger: Logger): grpc.handleBidiStreamingCall<edgev1.ProxyMuxRequest, edgev1.ProxyMuxResponse> {
  const log = logger.child({ component: "proxy-mux" });
  return (stream: MuxStream) => {
    const calls = new Map<number, MuxCall>();
    let writable = true;
    let open = true;
    const out: MuxOut = {
      send(callId, frame) {
        if (!open) return;
        if (!stream.write(create(edgev1.ProxyMuxResponseSchema, { callId, frame }))) writable = false;
      },
      get writable() {
        return writable;
      },
      closed(callId) {
        calls.delete(callId);
      },
    };
    const refuse = (callId: number, code: grpc.status, message: string) => out.send(callId, { case: "error", value: create(edgev1.MuxErrorSchema, { code, message }) });
    stream.on("drain", () => {
      writable = true;
      for (const c of calls.values()) c.maybeDrain();
    });
    stream.on("data", (f: edgev1.ProxyMuxRequest) => {
      const id = f.callId;
      switch (f.frame.case) {
        case "open": {
          const o = f.frame.value;
          if (id === 0 || calls.has(id)) return refuse(id, grpc.status.INVALID_ARGUMENT, `call id ${id} is 0 or already in use on this stream`);
          if (!o.request) return refuse(id, grpc.status.INVALID_ARGUMENT, "MuxOpen without a request");
          const window = Math.min(o.windowBytes || DEFAULT_MUX_WINDOW_BYTES, MAX_MUX_WINDOW_BYTES);
          const call = new MuxCall(o.request, id, window, o.deadlineMs > 0 ? Date.now() + o.deadlineMs : Infinity, out);
          calls.set(id, call);
          proxy(call as unknown as grpc.ServerWritableStream<edgev1.ProxyRequest, edgev1.ProxyResponse>);
          return;
        }
        case "cancel":
          calls.get(id)?.cancel();
          return;
        case "credit":
          calls.get(id)?.grant(f.frame.value.bytes);
          return;
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
    stream.write(create(edgev1.ProxyMuxResponseSchema, { callId: 0, frame: { case: "hello", value: { edgeVersion: EDGE_VERSION } } }));
  };
}

/** Adds ProxyMux to a grpc-js server, running each call through `proxy` (registerProxy calls this). */
export function registerProxyMux(server: grpc.Server, proxy: ProxyHandler, logger: Logger): void {
  const def = grpcDefinition(edgev1.EdgeService)[edgev1.EdgeService.method.proxyMux.localName]!;
  server.unregister(PROXY_MUX_METHOD_PATH);
  const ok = server.register(PROXY_MUX_METHOD_PATH, edgeProxyMuxHandler(proxy, logger) as grpc.UntypedHandleCall, def.responseSerialize as grpc.serialize<unknown>, def.requestDeserialize as grpc.deserialize<unknown>, "bidi");
  if (!ok) throw new Error(`registerProxyMux: could not register ${PROXY_MUX_METHOD_PATH}`);
}
