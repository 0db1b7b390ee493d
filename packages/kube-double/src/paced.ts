import type http from "node:http";

/**
 * Writes a streamed response the way a real API server does: each piece only once the
 * connection took the previous ones (Go's ResponseWriter blocks the writer), so a slow reader
 * holds the rest back here, counted in {@link queuedBytes}, instead of in one socket write
 * that counts as unsent until its last byte left.
 */
export class PacedWriter {
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private ending = false;

  constructor(private readonly res: http.ServerResponse) {
    res.on("drain", () => this.flush());
    paced.set(res, this);
  }

  write(b: Buffer): void {
    if (this.queue.length === 0 && !this.res.writableNeedDrain) {
      this.res.write(b);
      return;
    }
    this.queue.push(b);
    this.queued += b.length;
  }

  /** Ends the response once everything queued is written. */
  end(): void {
    this.ending = true;
    this.flush();
  }

  get queuedBytes(): number {
    return this.queued;
  }

  private flush(): void {
    if (this.res.writableEnded) {
      this.queue.length = 0;
      this.queued = 0;
      return;
    }
    while (this.queue.length > 0 && !this.res.writableNeedDrain) {
      const b = this.queue.shift()!;
      this.queued -= b.length;
      this.res.write(b);
    }
    if (this.ending && this.queue.length === 0) this.res.end();
  }
}

const paced = new WeakMap<http.ServerResponse, PacedWriter>();

/** Bytes a response has been given and the client has not taken yet: queued here or in the socket. */
export function unsentBytes(res: http.ServerResponse): number {
  return res.writableLength + (paced.get(res)?.queuedBytes ?? 0);
}
