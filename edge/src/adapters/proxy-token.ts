/**
 * The token proxied calls run with: a short-lived token of the edge's proxy
 * ServiceAccount (read-only ClusterRole, no Secrets), minted with the
 * TokenRequest API (`POST …/serviceaccounts/<proxy>/token`) by the pod's own
 * account, whose only other right is `get` on the tunnel Secret.
 *
 * Why TokenRequest: a projected serviceAccountToken volume can only carry the
 * pod's own account, and one pod has one account. The pod's account must read
 * the key, so the proxy identity has to come from elsewhere; TokenRequest is
 * how kubelet itself gets bound tokens. Like kubelet, the token is renewed at
 * 80 % of its life (a failed renewal is retried every RETRY_MS while the old
 * token is still valid); an expired token is never used.
 */
import type { Logger } from "@daalu/runtime";

/** Asked-for lifetime of a proxy token (kube-apiserver's minimum is 10 minutes). */
export const PROXY_TOKEN_SECONDS = 3600;
/** Renew once this share of the token's life has passed (kubelet's rule for projected tokens). */
export const RENEW_AT_FRACTION = 0.8;
const RETRY_MS = 10_000;

export interface MintedToken {
  token: string;
  expiresAtMs: number;
}

/** When to renew a token issued at `issuedAtMs` that expires at `expiresAtMs`. */
export function renewAtMs(issuedAtMs: number, expiresAtMs: number): number {
  return issuedAtMs + Math.max(0, expiresAtMs - issuedAtMs) * RENEW_AT_FRACTION;
}

export class ProxyTokenSource {
  private cur: MintedToken | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly mint: () => Promise<MintedToken>,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Mints the first token; throws when the API server refuses (missing RBAC, no such account). */
  async start(): Promise<void> {
    await this.renew();
  }

  /** The current token; throws when there is none that is still valid. */
  current(): string {
    if (!this.cur) throw new Error("no token has been issued yet");
    if (this.cur.expiresAtMs <= this.now()) throw new Error(`the last token expired at ${new Date(this.cur.expiresAtMs).toISOString()} and could not be renewed`);
    return this.cur.token;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private async renew(): Promise<void> {
    const issuedAt = this.now();
    const t = await this.mint();
    this.cur = t;
    this.schedule(renewAtMs(issuedAt, t.expiresAtMs) - this.now());
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.renew().catch((err: unknown) => {
        this.logger.warn({ problem: err instanceof Error ? err.message : String(err), retryInMs: RETRY_MS }, "renewing the proxy ServiceAccount token failed");
        this.schedule(RETRY_MS);
      });
    }, Math.max(0, delayMs));
    this.timer.unref();
  }
}
