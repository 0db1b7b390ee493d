/**
 * Readiness of the edge pod: the tunnel, not the process. The pod is ready
 * only after the device is configured AND the hub answered a handshake
 * recently. WireGuard re-handshakes every ~2 minutes while keepalives flow,
 * so an age under `maxAgeMs` (default 180 s) means the tunnel is alive.
 *
 * `lastHandshakeMs` is the epoch time of the latest handshake, 0 when none.
 */
export interface ReadinessInput {
  nowMs: number;
  /** When the device was configured this time; undefined while it is not. */
  deviceUpSinceMs: number | undefined;
  lastHandshakeMs: number;
  maxAgeMs: number;
  /** After this long without any handshake the reason says the tunnel is failing, not starting. */
  graceMs: number;
}

export interface Readiness {
  ready: boolean;
  reason: string;
  /** Seconds since the last handshake; undefined when none happened. */
  handshakeAgeSeconds: number | undefined;
}

export function readiness(i: ReadinessInput): Readiness {
  const age = i.lastHandshakeMs > 0 ? Math.max(0, i.nowMs - i.lastHandshakeMs) : undefined;
  const ageS = age === undefined ? undefined : Math.floor(age / 1000);
  if (i.deviceUpSinceMs === undefined) return { ready: false, reason: "tunnel device not configured yet", handshakeAgeSeconds: ageS };
  if (age === undefined) {
    const waited = i.nowMs - i.deviceUpSinceMs;
    return {
      ready: false,
      reason: waited < i.graceMs ? "awaiting the first handshake with the hub" : `no handshake with the hub in ${Math.floor(waited / 1000)}s: check that UDP to the hub endpoint is allowed out`,
      handshakeAgeSeconds: undefined,
    };
  }
  if (age > i.maxAgeMs) {
    return { ready: false, reason: `last handshake ${ageS}s ago (limit ${Math.floor(i.maxAgeMs / 1000)}s)`, handshakeAgeSeconds: ageS };
  }
  return { ready: true, reason: `last handshake ${ageS}s ago`, handshakeAgeSeconds: ageS };
}
