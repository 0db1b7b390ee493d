/**
 * Telling a kubectl client why the hub cut its session. After the 101 the hub
 * carries the API server's bytes untouched, so the client only learns of a
 * cut (its tunnel-proxy stopped answering, the edge gone, a limit, a drain)
 * from what the gateway adds before closing the socket:
 *
 * - exec/attach over `v5`/`v4.channel.k8s.io` (or `v4.base64`): a Status on
 *   the error channel (channel 3), which kubectl prints ("error: …") and
 *   exits 1 with — unless the API server already sent its own Status;
 * - any WebSocket: then a close frame, 1011 with the reason (RFC 6455 caps
 *   it at 123 bytes);
 * - SPDY: nothing can be added without speaking SPDY; the socket ends.
 *
 * The gateway reads the server → client frame headers as they pass (the
 * tunnel-proxy's ErrorChannelReader), so it adds a message only between
 * messages and a close only between frames, and nothing after the API
 * server's own close frame.
 */
import { ErrorChannelReader, isNormalSessionEnd } from "@daalu/tunnel-proxy";

const STATUS_PROTOCOLS: Record<string, boolean> = { "v5.channel.k8s.io": false, "v4.channel.k8s.io": false, "v4.base64.channel.k8s.io": true };
/** The longest reason a close frame carries (125-byte control payload minus the code). */
const MAX_CLOSE_REASON = 123;
const INTERNAL_ERROR = 1011;

/** What the client is told for a channel close reason (the NATS stream's own words made readable). */
export function interruptMessage(reason: string): string {
  const why = reason.startsWith("the peer was silent") ? `the hub's tunnel-proxy stopped answering (${reason})` : reason;
  return `the session was interrupted by the hub: ${why}`;
}

function frame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0x80 | opcode, len]) : len < 65536 ? Buffer.from([0x80 | opcode, 126, len >> 8, len & 0xff]) : Buffer.concat([Buffer.from([0x80 | opcode, 127]), bigLen(len)]);
  return Buffer.concat([head, payload]);
}

function bigLen(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

/** The Status kubectl's error-channel decoder reads as a failure with this message. */
function statusFrame(message: string, base64: boolean): Buffer {
  const json = JSON.stringify({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason: "ServiceUnavailable", code: 503 });
  // Server frames are never masked; base64 protocols are text frames whose channel is an ASCII digit.
  return base64 ? frame(0x1, Buffer.from(`3${Buffer.from(json).toString("base64")}`, "latin1")) : frame(0x2, Buffer.concat([Buffer.from([3]), Buffer.from(json)]));
}

function closeFrame(message: string): Buffer {
  const whole = Buffer.from(message);
  // Cut on bytes, then drop a split character: the reason must stay valid UTF-8.
  const text = whole.length <= MAX_CLOSE_REASON ? whole : Buffer.from(`${whole.subarray(0, MAX_CLOSE_REASON - 3).toString("utf8").replace(/\uFFFD+$/, "")}...`);
  return frame(0x8, Buffer.concat([Buffer.from([INTERNAL_ERROR >> 8, INTERNAL_ERROR & 0xff]), text]));
}

/** Follows the server → client side of one upgraded session; `closing(reason)` says what to write before the socket ends. */
export interface InterruptNotice {
  /** Every chunk written to the client, in order. */
  push(bytes: Uint8Array): void;
  /** The bytes to write before ending the socket when the session closed with `reason` (empty: none). */
  closing(reason: string): Buffer;
}

/** For a session the API server answered with `status` and `headers` on `subresource`'s path. */
export function interruptNotice(subresource: string, status: number, headers: readonly { name: string; value: string }[]): InterruptNotice {
  const get = (n: string) => headers.find((h) => h.name.toLowerCase() === n)?.value.trim().toLowerCase() ?? "";
  if (status !== 101 || get("upgrade") !== "websocket") return { push: () => undefined, closing: () => Buffer.alloc(0) };
  const base64 = STATUS_PROTOCOLS[get("sec-websocket-protocol")];
  const withStatus = base64 !== undefined && (subresource === "exec" || subresource === "attach");
  const frames = new ErrorChannelReader(base64 ?? false);
  return {
    push: (b) => frames.push(b),
    closing(reason) {
      if (isNormalSessionEnd(reason) || frames.closeSeen || !frames.atFrameBoundary) return Buffer.alloc(0);
      const message = interruptMessage(reason);
      const parts: Buffer[] = [];
      if (withStatus && !frames.exit && frames.atMessageBoundary) parts.push(statusFrame(message, base64 ?? false));
      parts.push(closeFrame(message));
      return Buffer.concat(parts);
    },
  };
}
