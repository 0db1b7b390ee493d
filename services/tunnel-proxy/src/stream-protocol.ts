/**
 * A chunked response stream over core NATS with credit-based backpressure:
 * the one protocol between the gateway (requester) and the tunnel-proxy
 * (responder) for calls through the tunnel. Transport only: payloads are bytes.
 * This file holds what both sides share; the sides are stream-requester.ts
 * (requestStream) and stream-responder.ts (acceptStream).
 *
 * Requester                               Responder
 *   PUB subject, reply=INBOX  ──────────▶  (Daalu-Stream-Window: chunks,bytes)
 *   (INBOX = <per-connection prefix>.<n>: one wildcard subscription serves all)
 *   INBOX  ◀── head  (Daalu-Stream-Ctl: CTL, payload = head bytes)
 *   INBOX  ◀── chunk (Daalu-Stream-Seq: 1..n) while unacked < window
 *   CTL    ──▶ ack   (Daalu-Stream-Ack: last consumed seq; also the heartbeat)
 *   INBOX  ◀── end | error (Daalu-Error-* headers)   or   CTL ──▶ cancel
 *   INBOX  ◀── full  (head + whole body in one message: small unary answers)
 *   INBOX  ◀── hb    (responder heartbeat while it has nothing to send)
 *
 * Bounds: the responder never has more than the window (64 chunks / 1 MiB by
 * default) unacknowledged, and the requester acks only what its consumer
 * pulled, so a slow reader stops the responder instead of growing a buffer
 * anywhere (pinned by test/stream.test.ts "slow reader"). Either side gives up
 * when the other is silent for idleTimeoutMs: the responder aborts its
 * upstream call, the requester fails its iterator (pinned by "cancel" and
 * "requester vanishes").
 */

export const STREAM_KIND = "Daalu-Stream";
export const STREAM_SEQ = "Daalu-Stream-Seq";
export const STREAM_CTL = "Daalu-Stream-Ctl";
export const STREAM_WINDOW = "Daalu-Stream-Window";
export const STREAM_HEAD_LEN = "Daalu-Stream-Head-Len";
export const STREAM_ACK = "Daalu-Stream-Ack";
export const STREAM_CANCEL = "Daalu-Stream-Cancel";

export const DEFAULT_WINDOW_CHUNKS = 64;
export const DEFAULT_WINDOW_BYTES = 1024 * 1024;
export const DEFAULT_HEARTBEAT_MS = 5_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 15_000;
/**
 * Sessions (exec, attach, port-forward) beat faster: a session can be silent for minutes, and when the other end
 * dies (a SIGKILLed tunnel-proxy, a gateway gone) its client should hear why within seconds, not after 15 s. Two
 * small messages per 2 s per session; 8 s stays above an older peer's 5 s beat checked every 2.5 s.
 */
export const SESSION_HEARTBEAT_MS = 2_000;
export const SESSION_IDLE_TIMEOUT_MS = 8_000;
/** Chunks are cut to this size so that one message stays far below NATS max_payload. */
export const DEFAULT_MAX_CHUNK_BYTES = 128 * 1024;

export interface StreamTimings {
  /** Each side sends something at least this often. */
  heartbeatMs?: number;
  /** Each side gives up after this long without hearing from the other. */
  idleTimeoutMs?: number;
}
