import { CallerKind } from "@daalu/proto";
import { sha256, type CallerRef, type Logger } from "@daalu/runtime";
import { apiTokens, bearer, roleAtLeast, type CallerKindName, type Role } from "./domain/api-token.js";
import type { IncomingHttpHeaders } from "node:http";
import type { GatewayStore } from "./adapters/pg/store.js";
import { secretCookie, SESSION_COOKIE, type SessionInfo, type Sessions } from "./sessions.js";
import { AdminRequiredError, OperatorRequiredError, UnauthenticatedError } from "./errors.js";

/** Who a verified API token or browser session speaks for. */
export interface Principal {
  tenantId: string;
  /** The API token's id; "" for a session. */
  tokenId: string;
  role: Role;
  caller: CallerRef;
  /** Set when a session cookie (not a token) authenticated the request. */
  session?: SessionInfo;
}

/** What authentication reads of a request. */
export interface Credentials {
  method: string;
  headers: IncomingHttpHeaders;
}

const KIND: Record<CallerKindName, CallerKind> = {
  user: CallerKind.USER,
  assistant: CallerKind.ASSISTANT,
  agent: CallerKind.AGENT,
};

const TOUCH_EVERY_MS = 60_000;
const MAX_CACHE = 10_000;

/**
 * Verifies bearer tokens against the gateway's table. Verified tokens are
 * cached for `cacheMs`, keyed by sha256 of the whole token (never the token
 * itself), so the hot path costs one hash; a revocation takes effect within
 * that window.
 */
export class Authenticator {
  private readonly cache = new Map<string, { principal: Principal; until: number }>();
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly store: GatewayStore,
    private readonly cacheMs: number,
    private readonly logger: Logger,
    /** Browser sessions; without them only bearer tokens authenticate. */
    readonly sessions?: Sessions,
  ) {}

  /**
   * A request's caller: its bearer token when it has an Authorization header
   * (no CSRF token needed: browsers never attach one on their own), else its
   * session cookie (with the CSRF check for anything but GET and HEAD).
   */
  async authenticateRequest(req: Credentials): Promise<Principal> {
    if (req.headers.authorization !== undefined || !this.sessions) return this.authenticate(req.headers.authorization);
    const secret = secretCookie(req.headers.cookie, SESSION_COOKIE);
    if (!secret) throw new UnauthenticatedError("sign in, or send an API token (Authorization: Bearer dak1_...)");
    const csrf = req.headers["x-csrf-token"];
    return sessionPrincipal(await this.sessions.forRequest(secret, req.method, Array.isArray(csrf) ? csrf[0] : csrf));
  }

  /** The request's session (never a token): the session routes. */
  async authenticateSession(req: Credentials): Promise<Principal> {
    const secret = this.sessions && secretCookie(req.headers.cookie, SESSION_COOKIE);
    if (!this.sessions || !secret) throw new UnauthenticatedError("no session; sign in");
    const csrf = req.headers["x-csrf-token"];
    return sessionPrincipal(await this.sessions.forRequest(secret, req.method, Array.isArray(csrf) ? csrf[0] : csrf));
  }

  async authenticate(authorization: string | undefined): Promise<Principal> {
    const token = bearer(authorization);
    if (!token) throw new UnauthenticatedError();
    const key = sha256(token).toString("base64");
    const now = Date.now();
    const hit = this.cache.get(key);
    if (hit && hit.until > now) return hit.principal;
    if (hit) this.cache.delete(key);
    const parsed = apiTokens.parse(token);
    if (!parsed) throw new UnauthenticatedError("malformed API token");
    const row = await this.store.tokenBySelector(parsed.selector);
    // The verifier is compared in constant time, and an unknown selector is
    // compared against a dummy hash: both failures cost the same work.
    if (!apiTokens.verify(parsed.verifier, row?.verifierHash) || !row) throw new UnauthenticatedError("unknown API token");
    if (row.revokedAt) throw new UnauthenticatedError("this API token was revoked");
    const principal: Principal = {
      tenantId: row.tenantId,
      tokenId: row.id,
      role: row.role,
      caller: { kind: KIND[row.callerKind] ?? CallerKind.USER, id: row.name },
    };
    if (this.cacheMs > 0) {
      if (this.cache.size >= MAX_CACHE) this.cache.clear();
      this.cache.set(key, { principal, until: now + this.cacheMs });
    }
    this.touch(row.id, now);
    return principal;
  }

  private touch(id: string, now: number): void {
    if ((this.touched.get(id) ?? 0) > now - TOUCH_EVERY_MS) return;
    if (this.touched.size >= MAX_CACHE) this.touched.clear();
    this.touched.set(id, now);
    this.store.touchToken(id).catch((err) => this.logger.warn({ err }, "could not record token use"));
  }
}

/** A session's caller: the user by username, with the user's current role. */
export function sessionPrincipal(info: SessionInfo): Principal {
  return { tenantId: info.user.tenantId, tokenId: "", role: info.user.role, caller: { kind: CallerKind.USER, id: info.user.username }, session: info };
}

export function requireAdmin(p: Principal): void {
  if (!roleAtLeast(p.role, "admin")) throw new AdminRequiredError();
}

/** Operator or admin: actions that run something against a cluster (the kubectl panel). */
export function requireOperator(p: Principal): void {
  if (!roleAtLeast(p.role, "operator")) throw new OperatorRequiredError();
}
