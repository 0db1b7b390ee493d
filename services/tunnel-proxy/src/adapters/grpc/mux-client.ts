/**
 * The hub side of EdgeService.ProxyMux: one long-lived bidi stream per edge
 * carries every Proxy call to it as frames named by a call id, instead of an
 * HTTP/2 stream, metadata and grpc-js's call stack per call.
 *
 * A call here (MuxClientCall) looks to the NATS handler like the grpc-js
 * stream of Proxy: 'data' (head, then chunks), 'end', 'error' with a gRPC
 * status, pause()/resume(), cancel().
 *
 * - Backpressure: each call may receive `windowBytes` of body before it grants
 *   more. Bytes count as consumed once the handler resumed after them (it
 *   pauses while the NATS requester has no credit); the grant goes out when
 *   half a window was consumed. So a slow reader holds at most a window (plus
 *   one upstream read) here and stalls its own call only.
 * - Cancellation: cancel() and the unary deadline send MuxCancel; the edge
 *   aborts the upstream request.
 * - A small answer may come as one MuxReply (head, body and end; the hub says
 *   it accepts them in every MuxOpen): delivered as the three frames.
 * - The stream failing (edge restarted, tunnel broken) fails every call on it
 *   with UNAVAILABLE; the next call opens a new stream.
 */
import { EventEmitter } from "node:events";
import { create, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { edgev1 } from "@daalu/proto";
import { grpc } from "@daalu/runtime";
import { decodeMuxResponse, type MuxResponseIn, type ProxyResponseIn } from "./mux-decode.js";

/** Body bytes a call may have in flight towards the hub before it grants more. */
export const MUX_WINDOW_BYTES = 512 * 1024;

const MUX_PATH = `/${edgev1.EdgeService.typeName}/${edgev1.EdgeService.method.proxyMux.name}`;
const asIs = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/** What the NATS handler needs of a Proxy call, on either path (grpc-js's ClientReadableStream with mux-decode.ts's deserializer fits). */
export interface EdgeProxyCall {
  on(event: "data", listener: (m: ProxyResponseIn) => void): unknown;
  on(event: "end", listener: () => void): unknown;
  on(event: "error", listener: (err: grpc.ServiceError) => void): unknown;
  pause(): unknown;
  resume(): unknown;
  cancel(): void;
}

function serviceError(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(`${code} ${grpc.status[code]}: ${details}`), { code, details, metadata: new grpc.Metadata() });
}

/**
 * ProxyMuxRequest{call_id, open: MuxOpen{request, window_bytes, deadline_ms}} with the
 * request's bytes as they came (the NATS payload): an embedded message is its
 * encoding, length-delimited, so the request is never decoded and encoded again.
 */
function openFrame(callId: number, request: Uint8Array, windowBytes: number, deadlineMs: number): Uint8Array {
  const w = new BinaryWriter();
  w.tag(1, WireType.Varint).uint32(callId);
  w.tag(2, WireType.LengthDelimited).fork();
  w.tag(1, WireType.LengthDelimited).bytes(request);
  w.tag(2, WireType.Varint).uint32(windowBytes);
  if (deadlineMs > 0) w.tag(3, WireType.Varint).uint32(deadlineMs);
  // accepts_reply: a small answer may come as one MuxReply (edges without the field send head, chunks, end).
  w.tag(4, WireType.Varint).bool(true);
  w.join();
  return w.finish();
}

type Delivery = { frame: ProxyResponseIn } | { end: true } | { error: grpc.ServiceError };
const NO_HEAD = { status: 0, bytes: new Uint8Array(0) };

/** One proxied call on a mux stream. */
class MuxClientCall extends EventEmitter implements EdgeProxyCall {
  private readonly queue: Delivery[] = [];
  private paused = false;
  private finished = false;
  private consumed = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly id: number,
    private readonly conn: MuxConnection,
    deadline: number | undefined,
  ) {
    super();
    if (deadline !== undefined) {
      this.timer = setTimeout(() => this.abort(grpc.status.DEADLINE_EXCEEDED, "Deadline exceeded"), Math.max(1, deadline - Date.now()));
    }
  }

  /** A frame from the edge for this call. */
  receive(f: MuxResponseIn): void {
    if (this.finished) return;
    switch (f.frame.case) {
      case "head":
      case "chunk":
        this.push({ frame: { frame: f.frame } });
        return;
      case "end":
        this.close();
        this.push({ end: true });
        return;
      case "reply": {
        // A whole answer in one frame: delivered as the head, a chunk and the end it stands for.
        const r = f.frame.value;
        this.close();
        this.push({ frame: { frame: { case: "head", value: r.head ?? NO_HEAD } } });
        if (r.body.length > 0) this.push({ frame: { frame: { case: "chunk", value: { data: r.body } } } });
        this.push({ end: true });
        return;
      }
      case "error":
        this.close();
        this.push({ error: serviceError(f.frame.value.code, f.frame.value.message) });
        return;
      case "malformed":
        // This call's answer cannot be read: it fails (and the edge is told to stop), the stream's other calls go on.
        this.abort(grpc.status.INTERNAL, f.frame.value.message);
        return;
      default:
    }
  }

  /** The stream failed: this call cannot complete. */
  lost(details: string): void {
    if (this.finished) return;
    this.close();
    this.queue.length = 0;
    this.push({ error: serviceError(grpc.status.UNAVAILABLE, details) });
  }

  pause(): this {
    this.paused = true;
    return this;
  }

  resume(): this {
    this.paused = false;
    this.flush();
    return this;
  }

  cancel(): void {
    this.abort(grpc.status.CANCELLED, "Cancelled on client");
  }

  private abort(code: grpc.status, details: string): void {
    if (this.finished) return;
    this.close();
    this.conn.send(toBinary(edgev1.ProxyMuxRequestSchema, create(edgev1.ProxyMuxRequestSchema, { callId: this.id, frame: { case: "cancel", value: { reason: details } } })));
    this.queue.length = 0;
    // As grpc-js: the error comes after cancel() returned, whatever the reader's pause.
    process.nextTick(() => this.emit("error", serviceError(code, details)));
  }

  private close(): void {
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    this.conn.forget(this.id);
  }

  private push(d: Delivery): void {
    this.queue.push(d);
    if (this.queue.length === 1) this.flush();
  }

  private flush(): void {
    while (!this.paused && this.queue.length > 0) {
      const d = this.queue.shift()!;
      if ("frame" in d) {
        if (d.frame.frame.case === "chunk") this.consumed += d.frame.frame.value.data.length;
        this.emit("data", d.frame);
      } else if ("end" in d) this.emit("end");
      else this.emit("error", d.error);
    }
    // Everything handed over and not paused on: consumed. Granted in half-windows (fewer frames).
    if (!this.paused && !this.finished && this.consumed >= MUX_WINDOW_BYTES / 2) {
      this.conn.send(toBinary(edgev1.ProxyMuxRequestSchema, create(edgev1.ProxyMuxRequestSchema, { callId: this.id, frame: { case: "credit", value: { bytes: this.consumed } } })));
      this.consumed = 0;
    }
  }
}

/** One ProxyMux stream to one edge. */
export class MuxConnection {
  /** Resolves true once the edge said hello, false when it has no ProxyMux (UNIMPLEMENTED); rejects when the stream failed first. */
  readonly ready: Promise<boolean>;
  private readonly calls = new Map<number, MuxClientCall>();
  private readonly stream: grpc.ClientDuplexStream<Uint8Array, MuxResponseIn>;
  private nextId = 1;
  private failed: string | undefined;

  constructor(client: grpc.Client, onGone: () => void) {
    this.stream = client.makeBidiStreamRequest(MUX_PATH, asIs, decodeMuxResponse, new grpc.Metadata(), {});
    let settle: (ok: boolean) => void = () => undefined;
    let refuse: (err: Error) => void = () => undefined;
    this.ready = new Promise<boolean>((resolve, reject) => {
      settle = resolve;
      refuse = reject;
    });
    this.ready.catch(() => undefined);
    const gone = (details: string, err?: grpc.ServiceError) => {
      if (this.failed !== undefined) return;
      this.failed = details;
      onGone();
      if (err?.code === grpc.status.UNIMPLEMENTED) settle(false);
      else refuse(err ?? serviceError(grpc.status.UNAVAILABLE, details));
      for (const c of [...this.calls.values()]) c.lost(details);
    };
    this.stream.on("data", (f: MuxResponseIn) => {
      if (f.frame.case === "hello") settle(true);
      else if (f.frame.case === "malformed" && f.callId === 0) {
        // Damaged before it named a call (or a damaged hello): no call to fail alone, so the stream goes, as a failed parse took it before.
        gone(`the edge's ProxyMux stream sent a frame that does not decode: ${f.frame.value.message}`);
        this.stream.cancel();
      } else this.calls.get(f.callId)?.receive(f);
    });
    this.stream.on("error", (err: grpc.ServiceError) => gone(`the edge's ProxyMux stream failed: ${err.details || err.message}`, err));
    this.stream.on("end", () => gone("the edge ended its ProxyMux stream"));
  }

  /** Starts a call with the encoded ProxyRequest `request`; `deadline` (epoch ms) undefined for streams. Throws UNAVAILABLE once the stream failed. */
  call(request: Uint8Array, deadline: number | undefined): EdgeProxyCall {
    // Ids wrap at 2^32 (uint32 on the wire), skipping any still in use.
    let id = this.nextId;
    while (id === 0 || this.calls.has(id)) id = (id + 1) >>> 0;
    this.nextId = (id + 1) >>> 0;
    // Thrown, not emitted: nobody listens to the call yet.
    if (this.failed !== undefined) throw serviceError(grpc.status.UNAVAILABLE, this.failed);
    const c = new MuxClientCall(id, this, deadline);
    this.calls.set(id, c);
    this.send(openFrame(id, request, MUX_WINDOW_BYTES, deadline === undefined ? 0 : Math.max(1, deadline - Date.now())));
    return c;
  }

  send(frame: Uint8Array): void {
    if (this.failed === undefined) this.stream.write(frame);
  }

  forget(id: number): void {
    this.calls.delete(id);
  }

  close(): void {
    this.stream.cancel();
  }
}
