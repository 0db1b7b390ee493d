/** What the hub node keeps per enrolled cluster between sweeps. */
import type { PeerStatus } from "@daalu/wireguard";
import type { AlertRecord } from "../adapters/pg/health-store.js";
import type { HealthState } from "../domain/health.js";
import type { ProbeReport } from "./prober.js";

/** Errors kept per cluster for the diagnostic blob. */
const MAX_ERRORS = 10;

export interface Tracked {
  clusterId: string;
  tenantId: string;
  name: string;
  publicKey: string;
  tunnelIp: string;
  enrolledAt: number;
  state: HealthState;
  since: number;
  diagnostic: string;
  /** Newest handshake seen: max(device, stored), so a fresh device after a restart does not look like an outage. */
  lastHandshakeMs: number;
  storedHandshakeMs: number;
  /** The peer's rx counter at the previous sweep (-1: no sample on this device yet). */
  rxBytes: number;
  /** When the rx counter last grew (keepalives, data): the sign of life between the ~2-minute rekeys. */
  lastRxMs: number;
  apiReachable: boolean;
  edgeVersion: string;
  probe: ProbeReport | undefined;
  probing: boolean;
  nextProbeAt: number;
  alert: AlertRecord | undefined;
  /** When the edge said goodbye (EdgeLifecycleService); cleared by a newer handshake. */
  goodbyeAtMs: number | undefined;
  errors: Array<{ at: number; message: string }>;
  peer: PeerStatus | undefined;
}

/** What a new Tracked starts from (the rest is sweep state). */
export type TrackedInit = Omit<Tracked, "probe" | "probing" | "nextProbeAt" | "errors" | "peer" | "rxBytes" | "lastRxMs" | "goodbyeAtMs">;

export function newTracked(t: TrackedInit, probeIntervalMs: number, now = Date.now()): Tracked {
  return {
    ...t,
    rxBytes: -1,
    lastRxMs: 0,
    probe: undefined,
    probing: false,
    // Spread the first probes over one interval instead of probing every edge at once.
    nextProbeAt: now + Math.random() * probeIntervalMs,
    errors: [],
    peer: undefined,
    goodbyeAtMs: undefined,
  };
}

export function recordError(t: Tracked, at: number, message: string): void {
  t.errors.push({ at, message });
  if (t.errors.length > MAX_ERRORS) t.errors.shift();
}
