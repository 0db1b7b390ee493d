/**
 * Noticing a hub that lost our WireGuard session (restarted hub node), fast.
 *
 * The hub never initiates (it has no endpoint for us until we send an
 * authenticated packet), so after a hub restart our keepalives carry a session
 * the hub no longer knows and are dropped; keepalives do not count as data, so
 * WireGuard itself would only re-handshake at the 2-minute rekey.
 *
 * Two rules, both on "when did rx bytes from the hub last grow":
 *
 * - nudge: when the hub has been quiet for `nudgeMs`, send it one tiny packet
 *   through the tunnel (a TCP SYN to its tunnel address, see adapters/nudge.ts).
 *   A live hub answers at once (its kernel's RST), so on a healthy tunnel rx
 *   never stays still much longer than `nudgeMs`; it is data, so WireGuard's
 *   own 15 s "sent but nothing back" rule is armed too.
 * - reset: when nothing at all arrived for `silenceMs`, drop and re-add the
 *   hub peer; the next keepalive starts a fresh handshake. At most once per
 *   `silenceMs`, so a hub that is really gone is retried calmly.
 */
export interface SilenceInput {
  nowMs: number;
  /** When rx bytes from the hub last grew (or the device came up). */
  lastRxChangeMs: number;
  /** When the session was last reset (or the device came up). */
  lastResetMs: number;
  silenceMs: number;
}

export function shouldResetSession(i: SilenceInput): boolean {
  if (i.silenceMs <= 0) return false;
  return i.nowMs - i.lastRxChangeMs >= i.silenceMs && i.nowMs - i.lastResetMs >= i.silenceMs;
}

export interface NudgeInput {
  nowMs: number;
  /** When rx bytes from the hub last grew (or the device came up). */
  lastRxChangeMs: number;
  /** When the last nudge was sent (0 = never). */
  lastNudgeMs: number;
  nudgeMs: number;
}

/** True when the hub has been quiet for `nudgeMs` and no nudge went out within it (0 disables). */
export function shouldNudge(i: NudgeInput): boolean {
  if (i.nudgeMs <= 0) return false;
  return i.nowMs - i.lastRxChangeMs >= i.nudgeMs && i.nowMs - i.lastNudgeMs >= i.nudgeMs;
}
