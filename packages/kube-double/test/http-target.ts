/** The HTTP server behind port-forward tests: a 64 MiB deterministic blob at /blob, "hello <path>" elsewhere. */
import { createHash } from "node:crypto";
import http from "node:http";
import type net from "node:net";
import type { AddressInfo } from "node:net";

const BLOB_BYTES = 64 << 20;

/** Deterministic bytes: block i of 64 KiB is sha256(i) repeated. */
export function blob(): Buffer {
  const b = Buffer.alloc(BLOB_BYTES);
  for (let off = 0, i = 0; off < b.length; i++) {
    const h = createHash("sha256").update(String(i)).digest();
    for (let j = 0; j < 2048 && off < b.length; j++, off += h.length) h.copy(b, off);
  }
  return b;
}

export const listenOn = (s: net.Server) => new Promise<number>((resolve) => s.listen(0, "127.0.0.1", () => resolve((s.address() as AddressInfo).port)));

/** GET on a fresh connection (no keep-alive): one port-forward stream per request. */
export function get(port: number, path: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http.get({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    }).on("error", reject);
  });
}

/** The test's HTTP server serving `data` at /blob. */
export function httpTarget(data: Buffer): http.Server {
  return http.createServer((req, res) => {
    if (req.url === "/blob") {
      res.writeHead(200, { "Content-Length": data.length });
      res.end(data);
    } else res.end(`hello ${req.url}`);
  });
}
