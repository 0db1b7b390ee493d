/**
 * A stand-in API server for session tests, made with the `ws` library: a
 * minimal v5.channel.k8s.io exec that echoes stdin (channel 0) as stdout
 * (channel 1), a raw upgrade echo for the SPDY-like opaque case (half-close
 * answered by a half-close), a 403 Forbidden Status for one pod, and a pod
 * whose session the server closes by itself. It counts open upstream
 * connections and remembers when each closed.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";

export interface SessionUpstream {
  url: string;
  /** Upstream connections open now. */
  open(): number;
  /** Date.now() of each upstream close, in order. */
  closedAt: number[];
  /** Authorization headers the upgrades came with. */
  authorizations: (string | undefined)[];
  close(): Promise<void>;
}

export const FORBIDDEN_STATUS = JSON.stringify({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: 'pods "forbidden" is forbidden: User "system:serviceaccount:daalu-edge:daalu-edge-proxy" cannot create resource "pods/exec" in API group "" in the namespace "default"', reason: "Forbidden", details: { name: "forbidden", kind: "pods" }, code: 403 });

export async function startSessionUpstream(): Promise<SessionUpstream> {
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (ps) => (ps.has("v5.channel.k8s.io") ? "v5.channel.k8s.io" : [...ps][0] ?? false) });
  const sockets = new Set<Duplex>();
  const closedAt: number[] = [];
  const authorizations: (string | undefined)[] = [];
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  server.on("upgrade", (req, socket, head) => {
    authorizations.push(req.headers.authorization);
    sockets.add(socket);
    socket.on("close", () => {
      sockets.delete(socket);
      closedAt.push(Date.now());
    });
    socket.on("error", () => undefined);
    const pod = /\/pods\/([^/]+)\//.exec(req.url ?? "")?.[1];
    if (pod === "forbidden") {
      socket.end(`HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(FORBIDDEN_STATUS)}\r\nconnection: close\r\n\r\n${FORBIDDEN_STATUS}`);
      return;
    }
    if (pod === "raw") {
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: ${req.headers.upgrade}\r\nx-stream-protocol-version: portforward.k8s.io\r\n\r\n`);
      if (head.length > 0) socket.write(head);
      socket.pipe(socket); // echo; the client's FIN ends our side after the echo (pipe's end)
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (pod === "closer") {
        ws.send(Buffer.from([1, ...Buffer.from("bye\n")]));
        ws.close(1000);
        return;
      }
      ws.on("message", (data: Buffer) => {
        if (data[0] === 0) ws.send(Buffer.concat([Buffer.from([1]), data.subarray(1)]));
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    open: () => sockets.size,
    closedAt,
    authorizations,
    async close() {
      for (const s of sockets) s.destroy();
      wss.close();
      await new Promise((r) => server.close(r));
    },
  };
}
