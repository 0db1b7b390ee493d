/** An upgrade request (exec, attach, port-forward) the hub is expected to refuse: its status, content type and body. */
import http from "node:http";
import https from "node:https";
import { randomBytes } from "node:crypto";

export interface Refusal {
  status: number;
  type: string;
  body: string;
}

/** `base` is http:// or https:// (then `ca` is trusted); rejects if the request was upgraded after all. */
export function refusedUpgrade(base: string, pathAndQuery: string, token: string, opts: { upgrade?: string; ca?: string } = {}): Promise<Refusal> {
  const upgrade = opts.upgrade ?? "websocket";
  const headers = { authorization: `Bearer ${token}`, connection: "Upgrade", upgrade, "sec-websocket-key": randomBytes(16).toString("base64"), "sec-websocket-version": "13", "sec-websocket-protocol": "v5.channel.k8s.io" };
  const url = `${base}${pathAndQuery}`;
  return new Promise((resolve, reject) => {
    const req = url.startsWith("https:") ? https.request(url, { headers, ...(opts.ca ? { ca: opts.ca } : {}) }) : http.request(url, { headers });
    req.on("upgrade", (_res, socket) => {
      socket.destroy();
      reject(new Error("upgraded"));
    });
    req.on("response", (res) => {
      const parts: Buffer[] = [];
      res.on("data", (d: Buffer) => parts.push(d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"]), body: Buffer.concat(parts).toString() }));
    });
    req.on("error", reject);
    req.end();
  });
}
