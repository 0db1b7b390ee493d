/**
 * How an exec or attach command ended, for its audit row: the Status the API
 * server writes on the error channel (channel 3) of `v4`/`v5.channel.k8s.io`
 * (and `v4.base64.channel.k8s.io`). The hub still carries the session's bytes
 * as they are; this reads a copy of the API server's side, frame headers only,
 * keeping the payload of error-channel messages alone (at most MAX_STATUS
 * bytes). SPDY, plain `channel.k8s.io` (text, no Status), compressed frames
 * and port-forward are not read: their rows say how the session ended by the
 * close reason alone. Pure: no I/O.
 */

export interface ExitStatus {
  /** "Success", "NonZeroExitCode", or the Status's other reason (e.g. "InternalError"). */
  status: string;
  /** 0 with Success, the command's code with NonZeroExitCode, -1 when the Status names none. */
  code: number;
}

/** An error-channel message longer than this is not a Status the kubelet writes: it is not kept. */
const MAX_STATUS = 64 * 1024;
const ERROR_CHANNEL = 3;

/** The Status JSON of the error channel → exit status; undefined when it is not one. */
export function parseExitStatus(json: string): ExitStatus | undefined {
  let s: { status?: unknown; reason?: unknown; details?: { causes?: { reason?: unknown; message?: unknown }[] } };
  try {
    s = JSON.parse(json) as typeof s;
  } catch {
    return undefined;
  }
  if (typeof s !== "object" || s === null) return undefined;
  if (s.status === "Success") return { status: "Success", code: 0 };
  if (s.status !== "Failure") return undefined;
  const reason = typeof s.reason === "string" && s.reason ? s.reason.slice(0, 64) : "Failure";
  const cause = s.details?.causes?.find((c) => c.reason === "ExitCode");
  const code = Number(cause?.message);
  return { status: reason, code: Number.isInteger(code) && code >= 0 && code <= 255 ? code : -1 };
}

/**
 * Reads WebSocket frames (RFC 6455) of the server → client direction as they
 * pass, in chunks of any size, and keeps the last exit status seen.
 */
export class ErrorChannelReader {
  exit: ExitStatus | undefined;
  private header = Buffer.alloc(0);
  /** Payload bytes of the current frame still to come. */
  private left = 0;
  private mask: Buffer | undefined;
  private maskAt = 0;
  /** The current frame starts a message (opcode text/binary), so its first payload byte names the channel. */
  private firstOfMessage = false;
  private fin = false;
  /** Collecting an error-channel message (undefined: not, or gave up). */
  private capture: Buffer[] | undefined;
  private captured = 0;
  private capturing = false;
  private broken = false;
  private inPayload = false;
  private controlFrame = false;
  /** Inside a fragmented message (a data frame without FIN, until the continuation with FIN). */
  private midMessage = false;
  /** The server sent its close frame: nothing more may be said on this connection. */
  closeSeen = false;

  constructor(private readonly base64: boolean) {}

  /** Between frames: a control frame (close) may be written here without breaking the stream. */
  get atFrameBoundary(): boolean {
    return !this.broken && this.header.length === 0 && !this.inPayload;
  }

  /** Between messages: a whole new message (a Status on the error channel) may be written here. */
  get atMessageBoundary(): boolean {
    return this.atFrameBoundary && !this.midMessage;
  }

  push(bytes: Uint8Array): void {
    const chunk = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let at = 0;
    while (at < chunk.length && !this.broken) {
      if (this.left === 0 && !this.inPayload) {
        at = this.readHeader(chunk, at);
        continue;
      }
      const n = Math.min(this.left, chunk.length - at);
      this.payload(chunk.subarray(at, at + n));
      at += n;
      this.left -= n;
      if (this.left === 0) this.endFrame();
    }
  }

  /** Collects header bytes; once whole, starts the frame. Returns where reading goes on. */
  private readHeader(chunk: Buffer, at: number): number {
    const need = (h: Buffer) => {
      if (h.length < 2) return 2;
      const len7 = h[1]! & 0x7f;
      return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (h[1]! & 0x80 ? 4 : 0);
    };
    while (at < chunk.length && this.header.length < need(this.header)) {
      const take = Math.min(need(this.header) - this.header.length, chunk.length - at);
      this.header = Buffer.concat([this.header, chunk.subarray(at, at + take)]);
      at += take;
    }
    const h = this.header;
    if (h.length < need(h)) return at;
    this.header = Buffer.alloc(0);
    const opcode = h[0]! & 0x0f;
    // RSV1: a compressed message (permessage-deflate); the API server does not negotiate it, so nothing is read.
    if (h[0]! & 0x40) {
      this.broken = true;
      return at;
    }
    const len7 = h[1]! & 0x7f;
    let len = len7;
    if (len7 === 126) len = h.readUInt16BE(2);
    else if (len7 === 127) len = Number(h.readBigUInt64BE(2));
    this.mask = h[1]! & 0x80 ? h.subarray(h.length - 4) : undefined;
    this.maskAt = 0;
    this.fin = (h[0]! & 0x80) !== 0;
    const control = opcode >= 8;
    if (opcode === 8) this.closeSeen = true;
    if (!control) this.midMessage = !this.fin;
    this.firstOfMessage = opcode === 1 || opcode === 2;
    if (this.firstOfMessage) this.capturing = false;
    // Control frames come between a message's fragments and are not part of it.
    this.inPayload = len > 0;
    this.left = len;
    if (control) this.firstOfMessage = false;
    this.controlFrame = control;
    if (len === 0) this.endFrame();
    return at;
  }

  private payload(p: Buffer): void {
    if (this.controlFrame) return;
    let data = p;
    if (this.mask) {
      data = Buffer.from(p);
      for (let i = 0; i < data.length; i++) data[i]! ^= this.mask[(this.maskAt + i) % 4]!;
      this.maskAt += data.length;
    }
    if (this.firstOfMessage) {
      this.firstOfMessage = false;
      const channel = this.base64 ? data[0]! - 0x30 : data[0]!;
      this.capturing = channel === ERROR_CHANNEL;
      this.capture = this.capturing ? [] : undefined;
      this.captured = 0;
      data = data.subarray(1);
    }
    if (!this.capturing || !this.capture) return;
    this.captured += data.length;
    if (this.captured > MAX_STATUS) {
      this.capture = undefined;
      return;
    }
    this.capture.push(data);
  }

  private endFrame(): void {
    this.inPayload = false;
    this.left = 0;
    if (this.controlFrame || !this.fin) return;
    if (this.capturing && this.capture && this.captured > 0) {
      const raw = Buffer.concat(this.capture);
      const text = this.base64 ? Buffer.from(raw.toString("latin1"), "base64").toString("utf8") : raw.toString("utf8");
      const exit = parseExitStatus(text);
      if (exit) this.exit = exit;
    }
    this.capturing = false;
    this.capture = undefined;
  }
}

/** The WebSocket subprotocols whose error channel carries a Status, and whether they are base64 text. */
const STATUS_PROTOCOLS: Record<string, boolean> = { "v5.channel.k8s.io": false, "v4.channel.k8s.io": false, "v4.base64.channel.k8s.io": true };

/**
 * A reader for a session whose API server answered 101 with one of the Status
 * protocols, for exec and attach (port-forward's channels are ports); else undefined.
 */
export function errorChannelReaderFor(subresource: string, status: number, headers: readonly { name: string; value: string }[]): ErrorChannelReader | undefined {
  if (status !== 101 || (subresource !== "exec" && subresource !== "attach")) return undefined;
  const get = (n: string) => headers.find((h) => h.name.toLowerCase() === n)?.value.trim().toLowerCase() ?? "";
  if (get("upgrade") !== "websocket") return undefined;
  const base64 = STATUS_PROTOCOLS[get("sec-websocket-protocol")];
  return base64 === undefined ? undefined : new ErrorChannelReader(base64);
}
