/**
 * Batches what a socket hands over into fewer, larger pieces for a session's
 * data frames. Node's TLS socket emits one `data` event per TLS record (16 KiB),
 * often dozens in one turn of the event loop during a download; sent one
 * gRPC message each, every hop after the edge (gRPC, NATS chunks, acks) pays
 * per piece. Here everything that arrived before the loop's check phase
 * (setImmediate), up to `maxBytes` (a single larger piece passes as it is), becomes one piece: an interactive byte
 * waits for one loop turn at most, a bulk transfer travels in large pieces.
 *
 * Backpressure stays the caller's: `send` returns false when its sink is full,
 * and the source is paused until `onDrain` calls back, so at most `maxBytes`
 * wait here besides what the sink holds.
 */
import type { Readable } from "node:stream";

export interface Coalescer {
  /** Sends what is pending now (call before sending anything that must come after the bytes, e.g. an end). */
  flush(): void;
}

export function coalesce(src: Readable, maxBytes: number, send: (data: Buffer) => boolean, onDrain: (resume: () => void) => void): Coalescer {
  let parts: Buffer[] = [];
  let size = 0;
  let scheduled: NodeJS.Immediate | undefined;
  const flush = () => {
    if (scheduled) clearImmediate(scheduled);
    scheduled = undefined;
    if (size === 0) return;
    const data = parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
    parts = [];
    size = 0;
    if (!send(data)) {
      src.pause();
      onDrain(() => src.resume());
    }
  };
  src.on("data", (d: Buffer) => {
    if (size > 0 && size + d.length > maxBytes) flush();
    parts.push(d);
    size += d.length;
    if (size >= maxBytes) flush();
    else scheduled ??= setImmediate(flush);
  });
  return { flush };
}
