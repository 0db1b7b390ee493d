/**
 * When to restart the WireGuard session with the hub. The hub never initiates
 * (it has no endpoint for us until we send an authenticated packet), so after
 * a hub restart our keepalives carry a session the hub no longer knows and are
 * dropped; WireGuard itself would only re-handshake at the 2-minute rekey. The
 * hub probes every edge every few seconds, so bytes received from the hub are
 * the heartbeat: when none arrive for `silenceMs`, the edge resets the peer,
 * and its next keepalive starts a fresh handshake. At most once per
 * `silenceMs`, so a hub that is really gone is retried calmly.
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
