/**
 * Port-forward over WebSocket as the kubelet serves it (the protocol
 * @kubernetes/client-node and other WebSocket clients speak): port i of the
 * request has data channel 2i and error channel 2i+1; the server's first
 * frame on each carries the port, 2 bytes little-endian; then the data
 * channel carries the TCP bytes both ways and the error channel a text
 * message if forwarding fails. Each port gets one TCP connection to the
 * target the test set for it.
 */
import net from "node:net";
import type { ChannelConn } from "./channel.js";
import type { EndReason, SessionLog } from "./sessions.js";

export interface PortForwardRequest {
  namespace: string;
  pod: string;
  ports: number[];
  user: string;
}

/** The kubelet's words when the pod side of a forwarded port cannot be reached. */
export function forwardError(pod: string, port: number, why: string): string {
  return `error forwarding port ${port} to pod ${pod}, uid : failed to execute portforward in network namespace: failed to connect to localhost:${port} inside namespace: ${why}`;
}

export function servePortForward(conn: ChannelConn, req: PortForwardRequest, sessions: SessionLog, targetOf: (port: number) => string | undefined): void {
  const sockets: net.Socket[] = [];
  /** Data channel → the TCP connection of its port. */
  const byChannel = new Map<number, net.Socket>();
  let open = req.ports.length;
  let ended = false;
  const rec = sessions.start({ kind: "portforward", namespace: req.namespace, pod: req.pod, ports: req.ports, tty: false, protocol: conn.protocol, user: req.user }, (reason) => end(reason));

  function end(reason: EndReason): void {
    if (ended) return;
    ended = true;
    sessions.end(rec, reason);
    for (const s of sockets) s.destroy();
    conn.close(reason === "server-closed" ? 1001 : 1000);
  }

  req.ports.forEach((port, i) => {
    const data = 2 * i;
    const error = data + 1;
    const prefix = Buffer.alloc(2);
    prefix.writeUInt16LE(port);
    void conn.send(data, prefix);
    void conn.send(error, prefix);
    const finishPort = () => {
      if (--open === 0) end("exit");
    };
    const target = targetOf(port);
    if (!target) {
      void conn.send(error, Buffer.from(forwardError(req.pod, port, "connection refused"))).then(finishPort);
      return;
    }
    const at = target.lastIndexOf(":");
    const sock = net.connect({ host: target.slice(0, at).replace(/^\[|\]$/g, ""), port: Number(target.slice(at + 1)) });
    sockets.push(sock);
    let failed = false;
    sock.on("data", (chunk: Buffer) => {
      rec.bytesOut += chunk.length;
      const room = conn.send(data, chunk);
      sock.pause();
      void room.then(() => sock.resume());
    });
    sock.on("drain", () => conn.ws.resume());
    sock.on("error", (e: NodeJS.ErrnoException) => {
      failed = true;
      void conn.send(error, Buffer.from(forwardError(req.pod, port, e.code === "ECONNREFUSED" ? "connection refused" : e.message)));
    });
    sock.on("close", () => {
      if (failed && !ended) sessions.end(rec, "target-error");
      finishPort();
    });
    byChannel.set(data, sock);
  });

  conn.onMessage((channel, payload) => {
    const sock = byChannel.get(channel);
    if (!sock || sock.destroyed) return;
    rec.bytesIn += payload.length;
    if (!sock.write(payload)) conn.ws.pause();
  });
  conn.ws.on("close", () => end("client-closed"));
}
