/**
 * The gateway's REST API, the CLI's only backend. Every refusal becomes a
 * CliError carrying the problem+json detail, its stable reason, the exit code
 * for its status and what to do; a hub that cannot be reached exits 6.
 */
import { effectiveConfig, normalizeHub } from "./config.js";
import { CliError, EXIT, exitForStatus, hintFor } from "./exit.js";
import { HttpTimeoutError, request, type HttpAnswer } from "./http.js";

export interface Cluster {
  id: string;
  name: string;
  tunnelIp: string | null;
  status: string;
  lastHandshake: string | null;
  edgeVersion: string | null;
  apiReachable: boolean;
  diagnostic: string | null;
  createdAt: string | null;
  enrolledAt: string | null;
  statusSince: string | null;
  latestEdgeVersion?: string | null;
  updateAvailable?: boolean;
  edgeSupport?: "current" | "update_available" | "unsupported" | null;
  upgradeCommand?: string | null;
  /** The hub node that carries the tunnel now. */
  homeNode?: string | null;
}

export interface IssuedInvite {
  invite: { id: string; clusterId: string; clusterName: string; state: string; expiresAt: string | null } | null;
  token: string;
  helmCommand: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** Why the request failed, in words, when the hub could not be reached at all. */
function unreachable(hub: string, err: unknown): CliError {
  const e = err as NodeJS.ErrnoException;
  const why = e.code ?? e.message;
  return new CliError(`cannot reach the hub at ${hub} (${why})`, EXIT.unreachable, "check the URL (`daalu login --hub URL`, or DAALU_HUB) and your network");
}

export class Hub {
  constructor(
    readonly url: string,
    private readonly token: string | undefined,
    private readonly timeoutMs = DEFAULT_TIMEOUT_MS,
  ) {}

  /** The hub and token of the saved login (or DAALU_HUB / DAALU_TOKEN); refuses when there is none. */
  static fromConfig(opts: { needToken?: boolean } = {}): Hub {
    const c = effectiveConfig();
    if (!c.hub) throw new CliError("no hub configured", EXIT.auth, "run `daalu login --hub URL`, or set DAALU_HUB");
    if (opts.needToken !== false && !c.token) throw new CliError("not logged in", EXIT.auth, "run `daalu login`, or set DAALU_TOKEN");
    return new Hub(normalizeHub(c.hub), c.token);
  }

  get authorization(): string {
    return `Bearer ${this.token ?? ""}`;
  }

  /** One request; JSON (or `text` as its content type) in, the answer out (2xx only), errors as CliError. */
  async raw(method: string, path: string, opts: { body?: unknown; text?: { body: string; type: string }; accept?: string; timeoutMs?: number; auth?: boolean } = {}): Promise<HttpAnswer> {
    const headers: Record<string, string> = { accept: opts.accept ?? "application/json" };
    if (opts.auth !== false && this.token) headers["authorization"] = this.authorization;
    const body = opts.text ? opts.text.body : opts.body !== undefined ? JSON.stringify(opts.body) : undefined;
    if (body !== undefined) headers["content-type"] = opts.text ? opts.text.type : "application/json";
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    let res: HttpAnswer;
    try {
      res = await request(this.url + path, { method, headers, timeoutMs, ...(body !== undefined ? { body } : {}) });
    } catch (err) {
      if (err instanceof HttpTimeoutError) throw new CliError(`the hub did not answer ${method} ${path} within ${Math.round(timeoutMs / 1000)} s`, EXIT.timeout, "try again; the hub or its network may be overloaded");
      throw unreachable(this.url, err);
    }
    if (res.status >= 200 && res.status < 300) return res;
    throw problemError(res);
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.raw(method, path, body === undefined ? {} : { body });
    return (res.text ? JSON.parse(res.text) : undefined) as T;
  }

  async clusters(): Promise<Cluster[]> {
    return (await this.json<{ clusters: Cluster[] }>("GET", "/v1/clusters")).clusters;
  }

  async cluster(id: string): Promise<Cluster> {
    return (await this.json<{ cluster: Cluster }>("GET", `/v1/clusters/${encodeURIComponent(id)}`)).cluster;
  }

  /** A cluster by its name, else by its id; 3 (not found) when neither matches. */
  async findCluster(nameOrId: string): Promise<Cluster> {
    const all = await this.clusters();
    const hit = all.find((c) => c.name === nameOrId) ?? all.find((c) => c.id === nameOrId);
    if (!hit) throw new CliError(`no cluster named or with id "${nameOrId}"`, EXIT.notFound, "list your clusters with `daalu clusters ls`", "CLUSTER_NOT_FOUND");
    return hit;
  }
}

/** A non-2xx answer as a CliError: the problem's detail and reason, or the status line. */
function problemError(res: HttpAnswer): CliError {
  let detail = `${res.status} ${res.statusText}`.trim();
  let reason: string | undefined = res.header("daalu-error-reason");
  try {
    const p = JSON.parse(res.text) as { detail?: unknown; reason?: unknown; message?: unknown };
    if (typeof p.detail === "string" && p.detail) detail = p.detail;
    else if (typeof p.message === "string" && p.message) detail = p.message;
    if (typeof p.reason === "string") reason = p.reason;
  } catch {
    // not JSON: keep the status line
  }
  return new CliError(detail, exitForStatus(res.status), hintFor(res.status, reason), reason);
}
