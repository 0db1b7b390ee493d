/**
 * `daalu login`: the CLI's browser login, an OAuth-style authorization code
 * with PKCE (S256) to a loopback redirect (RFC 8252):
 *
 *   GET  /v1/auth/cli/authorize?redirect_uri=http://127.0.0.1:PORT/callback&state=S&code_challenge=C&code_challenge_method=S256
 *        no session: 302 /signin?returnTo=<this URL>; with one: 302 redirect_uri?code=..&state=S
 *        (the code is single-use, lives 2 minutes, and only sha256 of it is stored)
 *   POST /v1/auth/cli/token {code, codeVerifier} (public) → a new API token with the user's role
 *
 * Register with `app.register(cliAuthRoutesPlugin, { sessions, tokens })`.
 */
import type { FastifyPluginAsync } from "fastify";
import { createApiToken } from "../admin.js";
import type { GatewayStore } from "../adapters/pg/store.js";
import { loopbackRedirectUri, newSecret, pkceMatches, secretId } from "../domain/sign-in.js";
import { InvalidGrantError, InvalidRedirectUriError } from "../errors.js";
import { secretCookie, SESSION_COOKIE, type SessionInfo, type Sessions } from "../sessions.js";
import { PUBLIC } from "./route-kit.js";
import { cliAuthorizeQuery, cliTokenBody } from "./schemas.js";

export interface CliAuthRoutesOptions {
  sessions: Sessions;
  /** Where the API tokens go. */
  tokens: GatewayStore;
}

export const CLI_CODE_TTL_MS = 2 * 60_000;

type AuthorizeQuery = { redirect_uri: string; state: string; code_challenge: string; code_challenge_method: "S256" };

export const cliAuthRoutesPlugin: FastifyPluginAsync<CliAuthRoutesOptions> = async (app, opts) => {
  const { sessions } = opts;

  app.get<{ Querystring: AuthorizeQuery }>("/v1/auth/cli/authorize", { config: PUBLIC, schema: { querystring: cliAuthorizeQuery } }, async (req, reply) => {
    const redirect = loopbackRedirectUri(req.query.redirect_uri);
    if (!redirect) throw new InvalidRedirectUriError();
    const secret = secretCookie(req.headers.cookie, SESSION_COOKIE);
    let session: SessionInfo | undefined;
    if (secret) session = await sessions.resolve(secret).catch(() => undefined);
    reply.header("cache-control", "no-store");
    // Not signed in (or the session ended): the web app's sign-in page brings the browser back here.
    if (!session) return reply.redirect(`/signin?returnTo=${encodeURIComponent(req.url)}`, 302);
    const code = newSecret();
    const now = sessions.clock();
    await sessions.store.insertCliCode({
      id: secretId(code),
      userId: session.user.id,
      codeChallenge: req.query.code_challenge,
      redirectUri: redirect,
      createdAt: new Date(now),
      expiresAt: new Date(now + CLI_CODE_TTL_MS),
    });
    const to = new URL(redirect);
    to.searchParams.set("code", code);
    to.searchParams.set("state", req.query.state);
    return reply.redirect(to.href, 302);
  });

  app.post<{ Body: { code: string; codeVerifier: string } }>("/v1/auth/cli/token", { config: PUBLIC, schema: { body: cliTokenBody } }, async (req, reply) => {
    const now = sessions.clock();
    // Used up by the first attempt, right or wrong: a code is never tried twice.
    const c = await sessions.store.consumeCliCode(secretId(req.body.code), new Date(now));
    if (!c || now >= c.expiresAt.getTime()) throw new InvalidGrantError();
    if (!pkceMatches(req.body.codeVerifier, c.codeChallenge)) throw new InvalidGrantError("the code verifier does not match the code challenge");
    const user = await sessions.store.userById(c.userId);
    if (!user || user.disabledAt) throw new InvalidGrantError("the user is disabled");
    const day = new Date(now).toISOString().slice(0, 10);
    const t = await createApiToken(opts.tokens, user.tenantId, `cli:${user.username}:${day}`, { role: user.role, kind: "user", userId: user.id });
    return reply.header("cache-control", "no-store").send({ token: t.token, tenantId: user.tenantId, username: user.username, role: user.role });
  });
};
