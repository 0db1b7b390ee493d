/**
 * The one codec between a DaaluError and NATS headers (docs/errors.md):
 * `Daalu-Error-Code` (the gRPC code number), `Daalu-Error-Reason`,
 * `Daalu-Error-Message` (percent-encoded: header values carry no newlines)
 * and `Daalu-Error-Http`, with an empty body. Used by request/reply
 * (nats.ts) and by the tunnel stream protocol alike.
 */
import { headers as natsHeaders, type MsgHdrs } from "@nats-io/transport-node";
import { HEADER_ERROR_CODE, HEADER_ERROR_HTTP, HEADER_ERROR_MESSAGE, HEADER_ERROR_REASON } from "./context.js";
import { fromWire, type DaaluError } from "./errors.js";

/** Writes `err` into `h` (new headers when omitted) and returns them. */
export function errorHeaders(err: DaaluError, h: MsgHdrs = natsHeaders()): MsgHdrs {
  h.set(HEADER_ERROR_CODE, String(err.code));
  h.set(HEADER_ERROR_REASON, err.reason);
  h.set(HEADER_ERROR_MESSAGE, encodeURIComponent(err.message));
  h.set(HEADER_ERROR_HTTP, String(err.httpStatus));
  return h;
}

function decodeMessage(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    return v; // not ours, or cut short: show it as it came
  }
}

/** The error the headers carry, or undefined when they carry none (no `Daalu-Error-Code`). */
export function errorFromHeaders(h: MsgHdrs | undefined): DaaluError | undefined {
  if (!h?.has(HEADER_ERROR_CODE)) return undefined;
  const message = h.get(HEADER_ERROR_MESSAGE);
  return fromWire({
    code: Number(h.get(HEADER_ERROR_CODE)),
    reason: h.get(HEADER_ERROR_REASON) || undefined,
    message: message ? decodeMessage(message) : undefined,
    httpStatus: Number(h.get(HEADER_ERROR_HTTP)) || undefined,
  });
}
