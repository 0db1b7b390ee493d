/**
 * A call that met a cluster moving between hub nodes (503 CLUSTER_MOVING:
 * no tunnel-proxy serves its subject for the second or so between the old
 * node letting go and the new one taking over; no-responder.ts) is sent
 * again, only when that is harmless: the request reached no tunnel-proxy, so
 * nothing ran, and only GET and HEAD are retried, so even a mistaken second
 * delivery changes nothing. Retries happen before any head came back, so a
 * watch or log stream already answered is never started twice. POST, PUT,
 * PATCH and DELETE get the 503 with Retry-After as before: their client decides.
 */
import { DaaluError } from "@daalu/runtime";

/** The first wait after a CLUSTER_MOVING refusal; doubled each time up to MOVING_RETRY_MAX_MS. */
const MOVING_RETRY_FIRST_MS = 50;
/** Waits stay short: the new home's subscription is the signal, and a refusal costs two tiny NATS requests. */
export const MOVING_RETRY_MAX_MS = 500;

/** Whether a call of `method` may be sent again after CLUSTER_MOVING. */
export function retriesWhileMoving(method: string): boolean {
  const m = method.toUpperCase();
  return m === "GET" || m === "HEAD";
}

/** The wait before retry number `attempt` (0 = the first retry). */
export function movingBackoff(attempt: number): number {
  return Math.min(MOVING_RETRY_MAX_MS, MOVING_RETRY_FIRST_MS * 2 ** attempt);
}

function isMoving(err: unknown): boolean {
  return err instanceof DaaluError && err.reason === "CLUSTER_MOVING";
}

export interface MovingRetryOptions {
  method: string;
  /** Epoch ms by which the call must have its head: no retry starts (or waits) past it. */
  deadline: number;
  /** The caller hung up: no further retry. */
  signal?: AbortSignal;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Runs `attempt` with the time left until the deadline; a CLUSTER_MOVING
 * refusal of a GET/HEAD is retried after movingBackoff while the wait ends
 * before the deadline. Any other error, or the last refusal, is thrown as is.
 */
export async function retryWhileMoving<T>(o: MovingRetryOptions, attempt: (remainingMs: number) => Promise<T>): Promise<T> {
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let n = 0; ; n++) {
    try {
      return await attempt(Math.max(1, o.deadline - now()));
    } catch (err) {
      const wait = movingBackoff(n);
      if (!isMoving(err) || !retriesWhileMoving(o.method) || o.signal?.aborted || now() + wait >= o.deadline) throw err;
      await sleep(wait);
    }
  }
}
