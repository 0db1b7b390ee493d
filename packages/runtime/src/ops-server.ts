/**
 * The operations listener every service gets from runService when
 * DAALU_METRICS_LISTEN is set: Prometheus's `/metrics`, and the kubelet's
 * `/livez` (the process answers) and `/readyz` (start-up finished and not
 * draining). Plain node:http: it must answer while the service itself is
 * starting or stuck, and carries nothing secret.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { metricsRegistry } from "./metrics.js";
import { parseHostPort } from "./config.js";

export interface OpsServer {
  port: number;
  /** Marks the service ready (true after start-up) or not (false while draining). */
  setReady(ready: boolean): void;
  close(): Promise<void>;
}

export async function startOpsServer(listen: string): Promise<OpsServer> {
  const hp = parseHostPort(listen);
  if (!hp) throw new Error(`startOpsServer: not host:port: ${listen}`);
  let ready = false;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/metrics") {
      metricsRegistry.metrics().then(
        (text) => res.writeHead(200, { "content-type": metricsRegistry.contentType }).end(text),
        (err: Error) => res.writeHead(500, { "content-type": "text/plain" }).end(`collecting metrics failed: ${err.message}\n`),
      );
    } else if (path === "/livez") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    } else if (path === "/readyz") {
      res.writeHead(ready ? 200 : 503, { "content-type": "text/plain" }).end(ready ? "ready\n" : "not ready\n");
    } else {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(hp.port, hp.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    setReady: (r) => void (ready = r),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
