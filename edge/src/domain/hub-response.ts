import { InvalidTunnelConfig, parseTunnelConfig, type TunnelConfig } from "./tunnel-config.js";

/**
 * What the bootstrap client does with one HTTP answer from the hub. Pure, so
 * the retry policy is pinned by hub-response.test.ts:
 *   - 2xx with a valid configuration → done;
 *   - a reason the hub uses for a final refusal → stop (token expired, used,
 *     unknown, revoked; subnet exhausted), whatever the status;
 *   - 5xx, 408, 429 and transient reasons (another enrollment of the cluster in
 *     flight) → retry with backoff;
 *   - any other 4xx → stop: retrying the same request cannot succeed.
 */
export type HubOutcome =
  | { kind: "ok"; config: TunnelConfig }
  | { kind: "retry"; why: string }
  | { kind: "rejected"; status: number; reason: string; message: string }
  | { kind: "bad-answer"; message: string };

const FINAL_REASONS = new Set(["TOKEN_EXPIRED", "TOKEN_ALREADY_USED", "TOKEN_UNKNOWN", "TOKEN_REVOKED", "TOKEN_MALFORMED", "SUBNET_EXHAUSTED", "INVALID_PUBLIC_KEY", "PUBLIC_KEY_IN_USE"]);
const TRANSIENT_REASONS = new Set(["ENROLLMENT_IN_PROGRESS", "UNAVAILABLE", "DEADLINE_EXCEEDED", "RATE_LIMITED"]);

export function classifyHubResponse(status: number, body: string): HubOutcome {
  let json: unknown;
  try {
    json = body === "" ? undefined : JSON.parse(body);
  } catch {
    json = undefined;
  }
  if (status >= 200 && status < 300) {
    if (json === undefined) return { kind: "bad-answer", message: `the hub answered ${status} without a JSON body` };
    try {
      return { kind: "ok", config: parseTunnelConfig(json) };
    } catch (err) {
      const detail = err instanceof InvalidTunnelConfig ? err.message : String(err);
      return { kind: "bad-answer", message: `the hub's tunnel configuration is unusable: ${detail}` };
    }
  }
  const problem = (json !== null && typeof json === "object" ? json : {}) as Record<string, unknown>;
  const reason = typeof problem["reason"] === "string" ? problem["reason"] : "";
  const detail = typeof problem["detail"] === "string" ? problem["detail"] : typeof problem["title"] === "string" ? problem["title"] : "";
  const message = detail || `HTTP ${status}${body && json === undefined ? `: ${body.slice(0, 200)}` : ""}`;
  if (FINAL_REASONS.has(reason)) return { kind: "rejected", status, reason, message };
  if (status >= 500 || status === 408 || status === 429 || TRANSIENT_REASONS.has(reason)) {
    return { kind: "retry", why: `hub answered ${status}${reason ? ` ${reason}` : ""}: ${message}` };
  }
  return { kind: "rejected", status, reason: reason || `HTTP_${status}`, message };
}
