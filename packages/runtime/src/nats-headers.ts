import type { MsgHdrs } from "@nats-io/transport-node";
import type { HeaderCarrier } from "./tracing.js";

/** NATS message headers as a trace-context carrier (both ends of a call). */
export function carrier(h: MsgHdrs): HeaderCarrier {
  return {
    get: (k) => (h.has(k) ? h.get(k) : undefined),
    set: (k, v) => h.set(k, v),
    keys: () => h.keys(),
  };
}
