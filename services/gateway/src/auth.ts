import { CallerKind } from "@daalu/proto";
import { sha256, type CallerRef, type Logger } from "@daalu/runtime";
import { apiTokens, bearer, roleAtLeast, type CallerKindName, type Role } from "./domain/api-token.js";
import type { GatewayStore } from "./adapters/pg/store.js";
import { AdminRequiredError, OperatorRequiredError, UnauthenticatedError } from "./errors.js";

/** Who a verified API token speaks for. */
export interface Principal {
  tenantId: string;
  tokenId: string;
  role: Role;
  caller: CallerRef;
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
  ) {}

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

export function requireAdmin(p: Principal): void {
  if (!roleAtLeast(p.role, "admin")) throw new AdminRequiredError();
}

/** Operator or admin: actions that run something against a cluster (the kubectl panel). */
export function requireOperator(p: Principal): void {
  if (!roleAtLeast(p.role, "operator")) throw new OperatorRequiredError();
}
