/**
 * OIDC single sign-on (authorization code + PKCE S256 + state + nonce) with
 * openid-client:
 *
 *   GET /v1/auth/oidc/login?returnTo=/clusters  → 302 to the identity provider
 *   GET /v1/auth/oidc/callback                  → code exchanged and validated, user upserted by
 *                                                 issuer+subject with the role its groups map to,
 *                                                 session opened, 302 to returnTo; refused: a
 *                                                 browser (Accept: text/html) goes 302 to
 *                                                 /signin?sso_error=REASON, others get problem+json
 *
 * The login in flight (state, nonce, PKCE verifier, returnTo) is kept server
 * side in oidc_logins, found by sha256 of a random key in a short-lived
 * HttpOnly cookie (SameSite=Lax: the IdP's redirect back is a cross-site
 * navigation), and used once. Discovery happens on the first login, so the
 * gateway starts while the IdP is down.
 *
 * Register with `app.register(oidcRoutesPlugin, { oidc, sessions, logger })`.
 */
import * as client from "openid-client";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { stringifySetCookie } from "cookie";
import { Code, DaaluError, type Logger } from "@daalu/runtime";
import type { OidcConfig } from "../config.js";
import { newSecret, normalizeUsername, roleForGroups, safeReturnTo, secretId } from "../domain/sign-in.js";
import { NoRoleForGroupsError, OidcLoginFailedError, OidcNotConfiguredError, UserDisabledError } from "../errors.js";
import { secretCookie, sessionCookie, type Sessions } from "../sessions.js";
import { PUBLIC } from "./route-kit.js";
import { returnToQuery } from "./schemas.js";

export interface OidcRoutesOptions {
  /** Undefined: single sign-on is off and both routes answer 404 OIDC_NOT_CONFIGURED. */
  oidc: OidcConfig | undefined;
  sessions: Sessions;
  logger: Logger;
}

const OIDC_COOKIE = "daalu_oidc";
const OIDC_COOKIE_PATH = "/v1/auth/oidc";
const LOGIN_TTL_MS = 10 * 60_000;

function oidcCookie(value: string, maxAge: number): string {
  return stringifySetCookie({ name: OIDC_COOKIE, value, httpOnly: true, secure: true, sameSite: "lax", path: OIDC_COOKIE_PATH, maxAge });
}

/** Plain http only for an issuer on this machine (tests, a local IdP); anything else must be https. */
function isLoopbackHttp(issuer: URL): boolean {
  return issuer.protocol === "http:" && (issuer.hostname === "127.0.0.1" || issuer.hostname === "localhost" || issuer.hostname === "[::1]");
}

export const oidcRoutesPlugin: FastifyPluginAsync<OidcRoutesOptions> = async (app, opts) => {
  const { oidc, sessions } = opts;
  if (!oidc) {
    const off = async () => {
      throw new OidcNotConfiguredError();
    };
    app.get("/v1/auth/oidc/login", { config: PUBLIC }, off);
    app.get("/v1/auth/oidc/callback", { config: PUBLIC }, off);
    return;
  }
  const log = opts.logger.child({ component: "oidc" });
  let discovered: Promise<client.Configuration> | undefined;
  const configuration = (): Promise<client.Configuration> => {
    if (!discovered) {
      const issuer = new URL(oidc.issuer);
      discovered = client
        .discovery(issuer, oidc.clientId, oidc.clientSecret, oidc.clientSecret === undefined ? client.None() : client.ClientSecretBasic(oidc.clientSecret), {
          ...(isLoopbackHttp(issuer) ? { execute: [client.allowInsecureRequests] } : {}),
          timeout: 10,
        })
        .catch((err: unknown) => {
          discovered = undefined;
          log.warn({ err, issuer: oidc.issuer }, "OIDC discovery failed");
          throw new DaaluError(Code.Unavailable, "the identity provider is not reachable", { reason: "OIDC_UNAVAILABLE", cause: err });
        });
    }
    return discovered;
  };

  app.get<{ Querystring: { returnTo?: string } }>("/v1/auth/oidc/login", { config: PUBLIC, schema: { querystring: returnToQuery } }, async (req, reply) => {
    const config = await configuration();
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const key = newSecret();
    await sessions.store.insertOidcLogin({
      id: secretId(key),
      state,
      nonce,
      codeVerifier,
      returnTo: safeReturnTo(req.query.returnTo),
      expiresAt: new Date(sessions.clock() + LOGIN_TTL_MS),
    });
    const to = client.buildAuthorizationUrl(config, {
      redirect_uri: oidc.redirectUrl,
      scope: oidc.scopes,
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: "S256",
      state,
      nonce,
    });
    return reply.header("set-cookie", oidcCookie(key, LOGIN_TTL_MS / 1000)).header("cache-control", "no-store").redirect(to.href, 302);
  });

  app.get("/v1/auth/oidc/callback", { config: PUBLIC }, async (req, reply) => {
    try {
      return await callback(req, reply);
    } catch (err) {
      // A person's browser lands on the sign-in page, which says what happened
      // in words (by the stable reason alone: no IdP text in a URL); a script
      // gets the problem+json.
      if (!(err instanceof DaaluError) || !err.reason || !/\btext\/html\b/.test(req.headers.accept ?? "")) throw err;
      log.info({ reason: err.reason }, "single sign-on refused");
      return reply
        .header("set-cookie", oidcCookie("", 0))
        .header("cache-control", "no-store")
        .redirect(`/signin?sso_error=${encodeURIComponent(err.reason)}`, 302);
    }
  });

  const callback = async (req: FastifyRequest, reply: FastifyReply) => {
    const key = secretCookie(req.headers.cookie, OIDC_COOKIE);
    const login = key ? await sessions.store.takeOidcLogin(secretId(key)) : undefined;
    if (!login || sessions.clock() >= login.expiresAt.getTime()) throw new OidcLoginFailedError("no sign-in is in progress in this browser (or it took too long); start again");
    const config = await configuration();
    // The URL the IdP redirected to: our configured redirect URL with the query it added.
    const current = new URL(oidc.redirectUrl);
    current.search = new URL(req.url, "http://x").search;
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      tokens = await client.authorizationCodeGrant(config, current, { pkceCodeVerifier: login.codeVerifier, expectedState: login.state, expectedNonce: login.nonce, idTokenExpected: true });
    } catch (err) {
      log.info({ err: (err as Error).message }, "OIDC code exchange refused");
      throw new OidcLoginFailedError(`the identity provider's answer was refused: ${(err as Error).message}`, err);
    }
    const idClaims = tokens.claims();
    if (!idClaims) throw new OidcLoginFailedError("the identity provider sent no ID token");
    let claims: Record<string, unknown> = idClaims;
    // Many providers put groups and names only in the userinfo answer.
    if (claims[oidc.groupsClaim] === undefined && tokens.access_token) {
      try {
        claims = { ...(await client.fetchUserInfo(config, tokens.access_token, idClaims.sub)), ...idClaims };
      } catch (err) {
        throw new OidcLoginFailedError("the identity provider's userinfo could not be read", err);
      }
    }
    const role = roleForGroups(oidc.roleMap, claims[oidc.groupsClaim]);
    if (!role) throw new NoRoleForGroupsError();
    const str = (k: string) => (typeof claims[k] === "string" ? (claims[k] as string) : undefined);
    const username =
      normalizeUsername(str("preferred_username") ?? "") ?? normalizeUsername(str("email") ?? "") ?? normalizeUsername(idClaims.sub) ?? `oidc-${secretId(idClaims.sub).toString("hex").slice(0, 16)}`;
    const user = await sessions.store.upsertOidcUser({
      tenantId: oidc.tenant,
      issuer: idClaims.iss,
      subject: idClaims.sub,
      username,
      displayName: (str("name") ?? username).slice(0, 200),
      role,
    });
    if (user.disabledAt) throw new UserDisabledError();
    const { secret } = await sessions.open(user);
    log.info({ tenantId: user.tenantId, username: user.username, role }, "signed in with OIDC");
    return reply
      .header("set-cookie", [sessionCookie(secret), oidcCookie("", 0)])
      .header("cache-control", "no-store")
      .redirect(login.returnTo, 302);
  };
};
