/**
 * Upgraded requests (kubectl exec, attach, port-forward) through the tests' TLS terminator (k8s-harness.ts), as an
 * ingress carries them: the request head, then raw bytes both ways.
 *
 * Two things an ingress does that a bare `pipe` does not:
 * - When the gateway's side closes, the client's connection closes once what was relayed is flushed. A piped client
 *   socket is unpiped, and so paused, when its destination closes: it never reads the client's FIN and never closes,
 *   and the terminator's close() waited for it for ever (after `kubectl port-forward` lost its pod, the test process
 *   never exited).
 * - Closing the terminator ends its upgraded connections: Node hands them off, so closeAllConnections() does not.
 */
import type http from "node:http";
import net from "node:net";
import type { Duplex } from "node:stream";

/** Relays `server`'s upgrades to 127.0.0.1:`upstreamPort`; the returned function ends the ones still open. */
export function relayUpgrades(server: http.Server, upstreamPort: number): () => void {
  const open = new Set<Duplex>();
  server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    open.add(socket);
    socket.once("close", () => open.delete(socket));
    const up = net.connect(upstreamPort, "127.0.0.1", () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      up.write(`${lines.join("\r\n")}\r\n\r\n`);
      if (head.length > 0) up.write(head);
      up.pipe(socket).pipe(up);
    });
    up.on("error", () => socket.destroy());
    // end() calls back once the relayed bytes are flushed (or at once, with an error, if the socket already ended).
    up.on("close", () => socket.end(() => socket.destroy()));
    socket.on("error", () => up.destroy());
    socket.on("close", () => up.destroy());
  });
  return () => {
    for (const s of open) s.destroy();
  };
}
