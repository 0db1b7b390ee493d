import { headers as natsHeaders, type MsgHdrs, type NatsConnection } from "@nats-io/transport-node";
import { inboxMux } from "./inbox-mux.js";

/** What JetStream answers a stored message with (its PubAck). */
export interface PubAck {
  stream: string;
  seq: number;
  duplicate: boolean;
}

/** Why one publish attempt got no PubAck; the caller decides whether to try again (same Nats-Msg-Id). */
export class JetStreamPublishError extends Error {
  constructor(
    message: string,
    /** "timeout", "no-responders" (no stream takes the subject, or JetStream is off), "api" (JetStream refused), "connection". */
    readonly kind: "timeout" | "no-responders" | "api" | "connection",
  ) {
    super(message);
    this.name = "JetStreamPublishError";
  }
}

const decoder = new TextDecoder();

/**
 * One JetStream publish, awaited until its PubAck, with the reply on the
 * connection's shared inbox (inbox-mux.ts) instead of nats.js's `js.publish`.
 * The wire is the same (a PUB with a reply subject, JetStream answers there);
 * what this leaves out is the per-publish request object of nats.js, which
 * after every successful publish rejects its own settled promise with a new
 * `RequestError("cancelled")` — an Error with a captured stack, per record, on
 * the proxy's hot path (docs/performance.md). `msgID` goes out as
 * Nats-Msg-Id, so a retry after a lost PubAck is stored once.
 */
export function publishForAck(
  nc: NatsConnection,
  subject: string,
  data: Uint8Array,
  opts: { msgID: string; timeoutMs: number; headers?: MsgHdrs },
): Promise<PubAck> {
  const mux = inboxMux(nc);
  const inbox = mux.inbox();
  const h = opts.headers ?? natsHeaders();
  h.set("Nats-Msg-Id", opts.msgID);
  return new Promise<PubAck>((resolve, reject) => {
    const timer = setTimeout(() => {
      route.remove();
      reject(new JetStreamPublishError(`no PubAck within ${opts.timeoutMs} ms`, "timeout"));
    }, opts.timeoutMs);
    const route = mux.add(inbox, (err, msg) => {
      clearTimeout(timer);
      route.remove();
      if (err || !msg) return reject(new JetStreamPublishError(err?.message ?? "the NATS connection is closed", "connection"));
      // The server's own status reply: nobody listens on the subject (no stream takes it).
      if (msg.headers?.hasError) {
        const code = msg.headers.code;
        return reject(new JetStreamPublishError(`JetStream did not take the message (${code} ${msg.headers.description})`, code === 503 ? "no-responders" : "api"));
      }
      try {
        const v = JSON.parse(decoder.decode(msg.data)) as { stream?: string; seq?: number; duplicate?: boolean; error?: { code?: number; description?: string } };
        if (v.error) return reject(new JetStreamPublishError(`JetStream refused the message: ${v.error.description ?? "unknown"} (${v.error.code ?? "?"})`, "api"));
        if (!v.stream) return reject(new JetStreamPublishError("JetStream answered without a stream", "api"));
        resolve({ stream: v.stream, seq: v.seq ?? 0, duplicate: v.duplicate === true });
      } catch {
        reject(new JetStreamPublishError("JetStream's answer is not JSON", "api"));
      }
    });
    try {
      nc.publish(subject, data, { reply: inbox, headers: h });
    } catch (e) {
      clearTimeout(timer);
      route.remove();
      reject(new JetStreamPublishError((e as Error).message, "connection"));
    }
  });
}
