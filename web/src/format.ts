/** Pure helpers for what the pages show: relative times, status words and colours, DNS labels. */
import type { Cluster } from "./api.js";

/** "42 s ago", "5 min ago", "3 h ago", "2 d ago"; "never" without a time. */
export function ago(iso: string | null | undefined, now: number): string {
  if (!iso) return "never";
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

/** "1 h 02 min", "4 min 10 s", "12 s": a duration for uptime and time left. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}

export type Tone = "green" | "amber" | "red" | "grey";

export const STATUS_TONE: Record<string, Tone> = { connected: "green", awaiting_handshake: "amber", pending_enrollment: "amber", disconnected: "red", error: "red" };

export function statusTone(status: string): Tone {
  return STATUS_TONE[status] ?? "grey";
}

export function statusWords(status: string): string {
  return status.replace(/_/g, " ");
}

/** A tunnel is up when the last sign of life is recent (the edge's keepalive is every 25 s). */
export const TUNNEL_FRESH_S = 180;

export function tunnelTone(c: Cluster, now: number): Tone {
  if (!c.lastHandshake) return c.status === "awaiting_handshake" || c.status === "pending_enrollment" ? "amber" : "grey";
  const age = (now - Date.parse(c.lastHandshake)) / 1000;
  return c.status === "disconnected" || age > TUNNEL_FRESH_S ? "red" : "green";
}

export function apiTone(c: Cluster): Tone {
  if (c.status === "pending_enrollment" || c.status === "awaiting_handshake") return "grey";
  return c.apiReachable ? "green" : "red";
}

/** Number of open alerts, whichever shape the hub sends. */
export function openAlertCount(c: Cluster): number {
  const a = c.openAlerts;
  if (Array.isArray(a)) return a.length;
  return typeof a === "number" ? a : 0;
}

/**
 * Why a cluster name is not a DNS label (RFC 1123, as Kubernetes names it), or
 * null when it is one.
 */
export function dnsLabelProblem(name: string): string | null {
  if (name.length === 0) return "Give the cluster a name.";
  if (name.length > 63) return `At most 63 characters (this one has ${name.length}).`;
  if (/[A-Z]/.test(name)) return "Use lower-case letters only.";
  if (!/^[a-z0-9-]+$/.test(name)) return "Only lower-case letters, digits and hyphens (-).";
  if (name.startsWith("-") || name.endsWith("-")) return "Start and end with a letter or a digit.";
  return null;
}
