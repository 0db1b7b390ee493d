/**
 * The Kubernetes channel protocols over WebSocket (k8s.io/apimachinery
 * wsstream, as the kubelet serves them): every message is one channel byte
 * followed by data. `v5.channel.k8s.io` adds a close signal (channel 255,
 * data = the channel being closed); `v4.channel.k8s.io` reports the exit as a
 * Status on the error channel; `channel.k8s.io` (v1) as plain text;
 * `base64.channel.k8s.io` and `v4.base64.channel.k8s.io` send text frames
 * with the channel as an ASCII digit and base64 data.
 */
import type { WebSocket } from "ws";

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
export const ERROR = 3;
export const RESIZE = 4;
export const CLOSE_SIGNAL = 255;

/** The protocols remote command (exec, attach) serves, in the order the server prefers them. */
export const REMOTE_COMMAND_PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io", "v4.base64.channel.k8s.io", "channel.k8s.io", "base64.channel.k8s.io"] as const;
/** The protocols the kubelet's WebSocket port-forward serves. */
export const PORT_FORWARD_PROTOCOLS = ["v4.channel.k8s.io", "v4.base64.channel.k8s.io", "channel.k8s.io", "base64.channel.k8s.io"] as const;

/** Unsent bytes above which a writer waits for the socket to drain. */
const HIGH_WATER = 1 << 20;
/** How long a closing connection waits for the client's close frame before the socket is destroyed. */
const CLOSE_GRACE_MS = 1_000;

/**
 * The subprotocol to answer: the first one the client offers that the server
 * serves; "" (plain channel.k8s.io) when the client offers none; undefined
 * when it offers only ones the server does not serve.
 */
export function pickProtocol(offered: Set<string>, served: readonly string[]): string | undefined {
  if (offered.size === 0) return "";
  for (const p of offered) if (served.includes(p)) return p;
  return undefined;
}

export class ChannelConn {
  readonly base64: boolean;
  /** Status objects on the error channel (v4, v5) rather than text. */
  readonly statusErrors: boolean;
  readonly closeSignal: boolean;
  private readonly waiters: (() => void)[] = [];

  constructor(readonly ws: WebSocket, readonly protocol: string) {
    this.base64 = protocol.includes("base64");
    this.statusErrors = protocol.startsWith("v4.") || protocol.startsWith("v5.");
    this.closeSignal = protocol.startsWith("v5.");
  }

  /** Listen to every client message as (channel, data). */
  onMessage(fn: (channel: number, data: Buffer) => void): void {
    this.ws.on("message", (raw: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      const buf = Array.isArray(raw) ? Buffer.concat(raw) : Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
      if (buf.length === 0) return;
      if (this.base64 && !isBinary) {
        const text = buf.toString("latin1");
        fn(text.charCodeAt(0) - 48, Buffer.from(text.slice(1), "base64"));
      } else fn(buf[0]!, buf.subarray(1));
    });
  }

  /** Send on a channel; resolves when the socket has room again (at once unless over the high-water mark). */
  send(channel: number, data: Buffer): Promise<void> {
    if (this.ws.readyState !== this.ws.OPEN) return Promise.resolve();
    if (this.base64) this.ws.send(String.fromCharCode(48 + channel) + data.toString("base64"), { binary: false });
    else {
      const frame = Buffer.allocUnsafe(data.length + 1);
      frame[0] = channel;
      data.copy(frame, 1);
      this.ws.send(frame, { binary: true }, () => this.drained());
    }
    if (this.ws.bufferedAmount < HIGH_WATER) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private drained(): void {
    if (this.ws.bufferedAmount >= HIGH_WATER && this.ws.readyState === this.ws.OPEN) return;
    for (const w of this.waiters.splice(0)) w();
  }

  /**
   * Close the connection normally (after the error channel said how the command ended). As the API server does, the
   * connection is closed, not held open for the client's close frame: reading resumes (a command that stopped reading
   * stdin may have paused it, and the client's close frame sits behind that stdin), and the socket is destroyed if the
   * closing handshake has not finished within CLOSE_GRACE_MS.
   */
  close(code = 1000): void {
    for (const w of this.waiters.splice(0)) w();
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(code);
    this.ws.resume();
    setTimeout(() => this.ws.readyState !== this.ws.CLOSED && this.ws.terminate(), CLOSE_GRACE_MS).unref();
  }
}
