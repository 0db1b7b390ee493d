import { parseCookie, stringifySetCookie } from "cookie";
import type { Logger } from "@daalu/runtime";
import type { UserRow, UserStore } from "./adapters/pg/user-store.js";
import { verifyPassword } from "./domain/password.js";
import { TokenBuckets } from "./domain/rate-limit.js";
import { csrfTokenOf, newSecret, normalizeUsername, safeEqual, secretId, sessionState, type SessionPolicy } from "./domain/sign-in.js";
import { CsrfTokenInvalidError, InvalidCredentialsError, SessionExpiredError, TooManyAttemptsError, UnauthenticatedError } from "./errors.js";

/** The browser session's cookie: HttpOnly, Secure, SameSite=Strict, Path=/. */
export const SESSION_COOKIE = "daalu_session";
const SECRET_FORMAT = /^[A-Za-z0-9_-]{43}$/;
const SWEEP_EVERY_MS = 3_600_000;

/** A live session and its user (the role is the user's current one). */
export interface SessionInfo {
  id: Buffer;
  csrfToken: string;
  expiresAt: Date;
  user: UserRow;
}

export interface SessionSettings extends SessionPolicy {
  failuresPerUser: number;
  failuresPerIp: number;
}

/** The Set-Cookie value that hands the browser its session. */
export function sessionCookie(secret: string): string {
  return stringifySetCookie({ name: SESSION_COOKIE, value: secret, httpOnly: true, secure: true, sameSite: "strict", path: "/" });
}

/** The Set-Cookie value that removes it. */
export function clearedSessionCookie(): string {
  return stringifySetCookie({ name: SESSION_COOKIE, value: "", httpOnly: true, secure: true, sameSite: "strict", path: "/", maxAge: 0 });
}

/** A named cookie of a Cookie header, when it has the shape of one of our secrets. */
export function secretCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  const v = parseCookie(header)[name];
  return v !== undefined && SECRET_FORMAT.test(v) ? v : undefined;
}

/**
 * Browser sign-in: password logins (scrypt, constant work for unknown users,
 * failed attempts limited per tenant+username and per IP), sessions stored as
 * sha256 of their secret with an absolute and an idle expiry, and the CSRF
 * check of cookie-authenticated requests. `clock` is injectable (tests).
 */
export class Sessions {
  private readonly perUser: TokenBuckets;
  private readonly perIp: TokenBuckets;
  private lastSweep = 0;

  constructor(
    readonly store: UserStore,
    private readonly settings: SessionSettings,
    readonly clock: () => number,
    private readonly logger: Logger,
  ) {
    this.perUser = new TokenBuckets(1 / 60, settings.failuresPerUser);
    this.perIp = new TokenBuckets(1 / 10, settings.failuresPerIp);
  }

  /** Checks the password and opens a session; one answer for every wrong tenant, username or password. */
  async login(tenantId: string, username: string, password: string, ip: string): Promise<{ secret: string; info: SessionInfo }> {
    const name = normalizeUsername(username);
    const userKey = `${tenantId}\n${name ?? username.toLowerCase()}`;
    const now = this.clock();
    if (!this.perUser.peek(userKey, now) || !this.perIp.peek(ip, now)) throw new TooManyAttemptsError();
    const user = name ? await this.store.userByName(tenantId, name) : undefined;
    // Unknown user, OIDC-only user (no hash): the same KDF work against a dummy.
    const ok = await verifyPassword(password, user?.passwordHash);
    if (!ok || !user || user.disabledAt) {
      this.perUser.take(userKey, now);
      this.perIp.take(ip, now);
      this.logger.info({ tenantId, ip }, "sign-in refused");
      throw new InvalidCredentialsError();
    }
    this.logger.info({ tenantId, username: user.username }, "signed in");
    return this.open(user);
  }

  /** A new session for `user` (password or OIDC login). */
  async open(user: UserRow): Promise<{ secret: string; info: SessionInfo }> {
    const secret = newSecret();
    const now = this.clock();
    const id = secretId(secret);
    const expiresAt = new Date(now + this.settings.ttlMs);
    await this.store.insertSession({ id, userId: user.id, createdAt: new Date(now), expiresAt });
    this.sweep(now);
    return { secret, info: { id, csrfToken: csrfTokenOf(secret), expiresAt, user } };
  }

  /** The live session behind `secret`; 401 SESSION_EXPIRED when it ended, UNAUTHENTICATED when unknown. */
  async resolve(secret: string): Promise<SessionInfo> {
    const id = secretId(secret);
    const found = await this.store.sessionById(id);
    if (!found) throw new UnauthenticatedError("unknown session; sign in again");
    const now = this.clock();
    const state = sessionState(found.session, now, this.settings);
    if (!state.ok || found.user.disabledAt) throw new SessionExpiredError();
    if (state.touch) await this.store.touchSession(id, new Date(now));
    return { id, csrfToken: csrfTokenOf(secret), expiresAt: found.session.expiresAt, user: found.user };
  }

  /**
   * The session of a cookie-authenticated request; anything but GET and HEAD
   * must carry the session's CSRF token in X-CSRF-Token.
   */
  async forRequest(secret: string, method: string, csrfHeader: string | undefined): Promise<SessionInfo> {
    const info = await this.resolve(secret);
    if (method !== "GET" && method !== "HEAD" && !(csrfHeader !== undefined && safeEqual(csrfHeader, info.csrfToken))) throw new CsrfTokenInvalidError();
    return info;
  }

  /** At most once an hour, on a sign-in: ended sessions, codes and logins are deleted (best effort). */
  private sweep(now: number): void {
    if (now - this.lastSweep < SWEEP_EVERY_MS) return;
    this.lastSweep = now;
    this.store
      .deleteEnded(new Date(now))
      .then((n) => n > 0 && this.logger.debug({ rows: n }, "ended sessions deleted"))
      .catch((err: unknown) => this.logger.warn({ err }, "could not delete ended sessions"));
  }

  async revoke(id: Buffer): Promise<void> {
    await this.store.revokeSession(id, new Date(this.clock()));
  }
}
