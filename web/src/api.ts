/**
 * The app's only back end: the gateway's REST API (same origin, session
 * cookie). Every state-changing request carries the session's CSRF token;
 * every error is the gateway's problem+json, whose `detail` is what the person
 * reads.
 */

export type Role = "admin" | "operator" | "viewer";

export interface User {
  id: string;
  username: string;
  displayName: string;
  role: Role;
  tenantId: string;
}

export interface Session {
  user: User;
  csrfToken: string;
  expiresAt: string;
}

export type ClusterStatus = "connected" | "awaiting_handshake" | "disconnected" | "error" | "pending_enrollment" | (string & {});

export interface Alert {
  id: string;
  severity?: string;
  summary?: string;
  message?: string;
  openedAt?: string | null;
  resolvedAt?: string | null;
  [k: string]: unknown;
}

export interface Cluster {
  id: string;
  name: string;
  tunnelIp: string | null;
  status: ClusterStatus;
  lastHandshake: string | null;
  edgeVersion: string | null;
  apiReachable: boolean;
  diagnostic: string | null;
  createdAt: string | null;
  enrolledAt: string | null;
  statusSince: string | null;
  /** The edge release the hub offers, and the oldest it supports. */
  latestEdgeVersion?: string | null;
  minEdgeVersion?: string | null;
  updateAvailable?: boolean;
  /** null until the edge reports a release (SemVer) version. */
  edgeSupport?: "current" | "update_available" | "unsupported" | null;
  /** `helm upgrade daalu-edge … --version <latestEdgeVersion> -n daalu-edge --reuse-values`. */
  upgradeCommand?: string | null;
  openAlerts?: number | Alert[];
  /** The hub node that carries the tunnel now (several hub nodes). */
  homeNode?: string | null;
}

export interface Invite {
  id: string;
  clusterId: string;
  clusterName: string;
  state: string;
  createdAt: string | null;
  expiresAt: string | null;
  redeemedAt: string | null;
  revokedAt: string | null;
  createdBy: string;
}

export interface IssuedInvite {
  cluster?: Cluster;
  invite: Invite;
  token: string;
  helmCommand: string;
}

export interface Subnet {
  cidr: string;
  hubIp: string;
  capacity: number;
  allocated: number;
}

export interface KubectlResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  truncated: boolean;
  timedOut: boolean;
  durationMs: number;
}

export interface AuditCall {
  id: string;
  time: string | null;
  clusterId: string;
  caller: { kind: string; id: string };
  operation: { verb: string; resource: string; namespace: string; name: string; subresource: string; apiGroup: string; path: string };
  outcome: { statusCode: number; ok: boolean; error: string | null };
  latencyMs: number;
  bytesIn: number;
  bytesOut: number;
}

/** A refusal or failure the person can act on: the problem's `detail` and its stable `reason`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    detail: string,
  ) {
    super(detail);
    this.name = "ApiError";
  }
}

let csrfToken = "";
let onUnauthenticated: () => void = () => undefined;

/** The session's CSRF token, sent as X-CSRF-Token on every non-GET request. */
export function setCsrfToken(token: string): void {
  csrfToken = token;
}

/** Called when the server says the session is gone (401), e.g. to go to the sign-in page. */
export function setUnauthenticatedHandler(fn: () => void): void {
  onUnauthenticated = fn;
}

async function problemOf(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => "");
  let body: { detail?: unknown; title?: unknown; reason?: unknown } = {};
  try {
    body = text ? (JSON.parse(text) as typeof body) : {};
  } catch {
    // not JSON: a proxy's page; say what the status means
  }
  const detail = typeof body.detail === "string" && body.detail ? body.detail : typeof body.title === "string" && body.title ? body.title : `the server answered ${res.status} ${res.statusText}`;
  return new ApiError(res.status, typeof body.reason === "string" ? body.reason : "", detail);
}

export interface RequestOptions {
  /** Do not treat 401 as "session ended" (the sign-in calls themselves). */
  quiet401?: boolean;
  signal?: AbortSignal;
  /** Send `body` (a string) as is with this Content-Type instead of as JSON (e.g. a YAML upload). */
  contentType?: string;
}

/** GETs started by the entry (boot.ts) before the app's code has loaded, each taken by the first api() call for it. */
const early = new Map<string, Promise<Response | undefined>>();

/**
 * Starts GET `path` now, for the first api("GET", path) to take: the session
 * and the clusters list are on their way while the browser loads the app.
 */
export function prefetch(path: string): void {
  early.set(
    path,
    fetch(path, { headers: { accept: "application/json" }, credentials: "same-origin" }).catch(() => undefined),
  );
}

/** The early response for a GET, if one was started and succeeded; a failed one is asked again (it may predate a sign-in). */
async function takeEarly(method: string, path: string, body: unknown): Promise<Response | undefined> {
  const pending = method === "GET" && body === undefined ? early.get(path) : undefined;
  if (!pending) return undefined;
  early.delete(path);
  const res = await pending;
  return res?.ok ? res : undefined;
}

export async function api<T>(method: string, path: string, body?: unknown, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = opts.contentType ?? "application/json";
  if (method !== "GET" && method !== "HEAD" && csrfToken) headers["x-csrf-token"] = csrfToken;
  let res: Response;
  try {
    const pre = await takeEarly(method, path, body);
    opts.signal?.throwIfAborted();
    res = pre ?? (await fetch(path, { method, headers, credentials: "same-origin", body: body === undefined ? undefined : opts.contentType ? String(body) : JSON.stringify(body), signal: opts.signal }));
  } catch (err) {
    if ((err as Error).name === "AbortError") throw err;
    throw new ApiError(0, "NETWORK", "The hub could not be reached. Check your connection; the page retries when you act again.");
  }
  if (!res.ok) {
    const e = await problemOf(res);
    if (res.status === 401 && !opts.quiet401) onUnauthenticated();
    throw e;
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Plain text (the diagnostic blob, a kubeconfig). */
export async function apiText(path: string): Promise<string> {
  const res = await fetch(path, { credentials: "same-origin" });
  if (!res.ok) {
    const e = await problemOf(res);
    if (res.status === 401) onUnauthenticated();
    throw e;
  }
  return res.text();
}

export const enc = encodeURIComponent;

/** The message to show for any error. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Roles admin ⊇ operator ⊇ viewer. */
export function may(role: Role | undefined, need: Role): boolean {
  const rank: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };
  return role !== undefined && rank[role] >= rank[need];
}
