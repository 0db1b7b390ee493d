/** Writing a response: JSON bodies, Status objects, list items, timestamps as the API server formats them. */
import type http from "node:http";
import type { StatusBody } from "./status.js";
import type { KubeObject } from "./store.js";

export function writeJson(res: http.ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text), "Cache-Control": "no-cache, private" });
  res.end(text);
}

/** A JSON document already serialized (the OpenAPI documents, served as loaded). */
export function writeRaw(res: http.ServerResponse, text: string): void {
  res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text), "Cache-Control": "no-cache, private" });
  res.end(text);
}

export function writeStatus(res: http.ServerResponse, s: StatusBody): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  writeJson(res, s.code, s);
}

/** Items of a List carry no apiVersion/kind on a real server; clients fill them in. */
export function listItem(o: KubeObject): KubeObject {
  const { apiVersion: _a, kind: _k, ...rest } = o;
  return rest as KubeObject;
}

export function nowTimestamp(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, "Z");
}
