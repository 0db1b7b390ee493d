/** What the hub node keeps per enrolled cluster between sweeps. */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { peeringv1 } from "@daalu/proto";
import type { PeerStatus } from "@daalu/wireguard";
import type { AlertRecord, TrackedClusterRow } from "../adapters/pg/health-store.js";
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
  /** Whether this node's copy of the stored health is current: false while another node evaluates the cluster. */
  adopted: boolean;
}

/** What a new Tracked starts from (the rest is sweep state). */
export type TrackedInit = Omit<Tracked, "probe" | "probing" | "nextProbeAt" | "errors" | "peer" | "rxBytes" | "lastRxMs" | "goodbyeAtMs" | "adopted">;

/** A cluster as PostgreSQL has it; `keepHandshake` false for a new key (its edge has not handshaken yet). */
export function initFromRow(r: TrackedClusterRow, alert: AlertRecord | undefined, keepHandshake: boolean): TrackedInit {
  const stored = r.lastHandshake?.getTime() ?? 0;
  return {
    clusterId: r.clusterId,
    tenantId: r.tenantId,
    name: r.name,
    publicKey: r.publicKey,
    tunnelIp: r.tunnelIp,
    enrolledAt: r.enrolledAt.getTime(),
    state: r.status,
    since: r.statusSince.getTime(),
    diagnostic: r.diagnostic,
    lastHandshakeMs: keepHandshake ? stored : 0,
    storedHandshakeMs: stored,
    apiReachable: r.apiReachable,
    edgeVersion: r.edgeVersion,
    alert,
  };
}

/** A cluster just (re-)enrolled, from its event's row: awaiting its edge's first handshake. */
export function initFromEvent(clusterId: string, tenantId: string, c: peeringv1.Cluster, alert: AlertRecord | undefined, now: number): TrackedInit {
  return {
    clusterId,
    tenantId,
    name: c.name,
    publicKey: c.publicKey,
    tunnelIp: c.tunnelIp,
    enrolledAt: c.enrolledAt ? timestampDate(c.enrolledAt).getTime() : now,
    state: "awaiting_handshake",
    since: c.statusSince ? timestampDate(c.statusSince).getTime() : now,
    diagnostic: c.diagnostic,
    lastHandshakeMs: 0,
    storedHandshakeMs: 0,
    apiReachable: false,
    edgeVersion: c.edgeVersion,
    alert,
  };
}

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
    adopted: true,
  };
}

export function recordError(t: Tracked, at: number, message: string): void {
  t.errors.push({ at, message });
  if (t.errors.length > MAX_ERRORS) t.errors.shift();
}

/**
 * Takes the stored row and open alert over (another node evaluated the
 * cluster until now): this node judges from what that node wrote, and probes
 * afresh instead of trusting a report from before the move.
 */
export function adoptStored(t: Tracked, row: TrackedClusterRow, alert: AlertRecord | undefined): void {
  t.state = row.status;
  t.since = row.statusSince.getTime();
  t.diagnostic = row.diagnostic;
  t.storedHandshakeMs = row.lastHandshake?.getTime() ?? 0;
  t.lastHandshakeMs = Math.max(t.lastHandshakeMs, t.storedHandshakeMs);
  t.apiReachable = row.apiReachable;
  t.edgeVersion = row.edgeVersion;
  t.alert = alert;
  t.probe = undefined;
  t.nextProbeAt = 0;
  t.adopted = true;
}
