/**
 * Ending a raw (upgraded or refused) client socket. `end()` only sends our FIN once what was written is flushed; a
 * client that never closes its side, or vanished without a FIN, would keep the socket (and the gateway's shutdown,
 * which does not reach upgraded sockets) for as long as the kernel keeps the connection. So the socket is destroyed
 * if it has not closed `graceMs` after the end.
 */
import type { Duplex } from "node:stream";

/** Time a client gets to read the tail and close after the gateway ended a session's socket. */
export const SOCKET_END_GRACE_MS = 30_000;

export function endWithin(socket: Duplex, graceMs: number, last?: string): void {
  if (socket.destroyed) return;
  const t = setTimeout(() => socket.destroy(), graceMs);
  t.unref();
  socket.once("close", () => clearTimeout(t));
  if (last === undefined) socket.end();
  else socket.end(last);
}
