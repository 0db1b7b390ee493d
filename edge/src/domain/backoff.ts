/**
 * Exponential backoff with jitter, shared by the bootstrap retries (bounded)
 * and the run loop (forever, capped). Pure: `random` is injectable so the
 * spec can pin the bounds (backoff.test.ts).
 */
export interface BackoffPolicy {
  /** Delay before the first retry, before jitter. */
  baseMs: number;
  /** Cap on the delay, before jitter. */
  maxMs: number;
}

/**
 * Delay before retry number `attempt` (0-based): min(max, base·2^attempt),
 * then "equal jitter" — a uniform pick in [d/2, d]. Half the delay is kept so
 * a fleet of edges restarted together spreads out without ever retrying
 * immediately; the random half de-synchronises them.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(Math.max(0, attempt), 30));
  return Math.round(exp / 2 + random() * (exp / 2));
}
