import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { rootCertificates } from "node:tls";
import { bootstrapRequestJson } from "../domain/tunnel-config.js";

/**
 * POST /v1/bootstrap over HTTPS with the certificate verified against the
 * system CAs plus an optional bundle (the chart's hub.caBundle). No redirects
 * are followed: the token goes to the configured hub and nowhere else.
 */
export interface HubAnswer {
  status: number;
  body: string;
}

/** TLS verification failures: retrying cannot fix them, the operator must (hub.caBundle). */
const TLS_TRUST_CODES = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_GET_ISSUER_CERT",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

export function isTlsTrustError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && TLS_TRUST_CODES.has(code);
}

export async function postBootstrap(hubUrl: string, payload: { token: string; publicKey: string }, opts: { caPem?: string; timeoutMs: number }): Promise<HubAnswer> {
  const url = new URL(`${hubUrl}/v1/bootstrap`);
  const body = JSON.stringify(bootstrapRequestJson(payload.token, payload.publicKey));
  const headers = { "content-type": "application/json", accept: "application/json, application/problem+json", "content-length": Buffer.byteLength(body) };
  return new Promise<HubAnswer>((resolve, reject) => {
    const onResponse = (res: import("node:http").IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (c: Buffer) => {
        size += c.length;
        // A bootstrap answer is a few hundred bytes; refuse to buffer a runaway body.
        if (size > 1 << 20) req.destroy(new Error("hub answer larger than 1 MiB"));
        else chunks.push(c);
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    };
    const req =
      url.protocol === "https:"
        ? httpsRequest(url, { method: "POST", headers, timeout: opts.timeoutMs, ...(opts.caPem ? { ca: [...rootCertificates, opts.caPem] } : {}) }, onResponse)
        : httpRequest(url, { method: "POST", headers, timeout: opts.timeoutMs }, onResponse);
    req.on("timeout", () => req.destroy(Object.assign(new Error(`no answer from the hub within ${opts.timeoutMs} ms`), { code: "ETIMEDOUT" })));
    req.on("error", reject);
    req.end(body);
  });
}
