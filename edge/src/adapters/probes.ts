import { createServer, type Server } from "node:http";
import type { Readiness } from "../domain/readiness.js";

/**
 * Kubelet probes: /healthz says the process is alive (liveness must not kill a
 * pod whose tunnel is down: a restart would not bring the hub back); /readyz
 * reflects the tunnel (readiness.ts).
 */
export interface ProbeServer {
  port: number;
  close(): Promise<void>;
}

export async function startProbeServer(host: string, port: number, readiness: () => Readiness): Promise<ProbeServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
      return;
    }
    if (path === "/readyz") {
      const r = readiness();
      const body = JSON.stringify({ ready: r.ready, reason: r.reason, handshakeAgeSeconds: r.handshakeAgeSeconds ?? null });
      res.writeHead(r.ready ? 200 : 503, { "content-type": "application/json" }).end(`${body}\n`);
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  return {
    port: typeof addr === "object" && addr ? addr.port : port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
