/**
 * One HTTP request with node:http(s). Not fetch(): Node 20 loads and compiles
 * its fetch implementation (undici) on first use, 200-300 ms of a short
 * command's start-up; node:http is already loaded.
 */
import http from "node:http";
import https from "node:https";

export interface HttpAnswer {
  status: number;
  statusText: string;
  header(name: string): string | undefined;
  text: string;
}

/** The request took longer than its time limit. */
export class HttpTimeoutError extends Error {
  override name = "HttpTimeoutError";
}

export function request(url: string, o: { method: string; headers: Record<string, string>; body?: string; timeoutMs: number }): Promise<HttpAnswer> {
  const u = new URL(url);
  const mod = u.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(u, { method: o.method, headers: { ...o.headers, ...(o.body !== undefined ? { "content-length": String(Buffer.byteLength(o.body)) } : {}) } }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (c: Buffer) => parts.push(c));
      res.on("error", reject);
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          statusText: res.statusMessage ?? "",
          header: (n) => {
            const v = res.headers[n.toLowerCase()];
            return Array.isArray(v) ? v.join(", ") : v;
          },
          text: Buffer.concat(parts).toString("utf8"),
        }),
      );
    });
    req.setTimeout(o.timeoutMs, () => req.destroy(new HttpTimeoutError(`no answer within ${o.timeoutMs} ms`)));
    req.on("error", reject);
    req.end(o.body);
  });
}
