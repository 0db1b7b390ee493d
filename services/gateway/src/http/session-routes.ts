/**
 * Browser sign-in with a password (docs/security.md):
 *
 *   POST   /v1/session      {tenant, username, password} → the session + Set-Cookie daalu_session (public)
 *   GET    /v1/session      the cookie's session, with its CSRF token (session only)
 *   DELETE /v1/session      sign out: the session is revoked, the cookie cleared (session + CSRF token)
 *   GET    /v1/auth/config  what the hub offers: {oidc: {enabled, label}, publicUrl} (public)
 *   GET    /v1/whoami       {tenantId, role, caller: {kind, id}, via} for any credential (token or session)
 *
 * Register with `app.register(sessionRoutesPlugin, { sessions, oidc })`.
 */
import { CallerKind } from "@daalu/proto";
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import type { SessionInfo, Sessions } from "../sessions.js";
import { clearedSessionCookie, sessionCookie } from "../sessions.js";
import { principalOf, PUBLIC, SESSION } from "./route-kit.js";
import { loginBody } from "./schemas.js";

export interface SessionRoutesOptions {
  sessions: Sessions;
  /** The SSO button's label when OIDC is configured. */
  oidcLabel: string | undefined;
  /** GATEWAY_PUBLIC_URL: the address kubeconfigs name (the web app offers one only when it is https). */
  publicUrl: string;
}

/** GET/POST /v1/session's answer. */
export function sessionJson(info: SessionInfo) {
  const u = info.user;
  return {
    user: { id: u.id, username: u.username, displayName: u.displayName, role: u.role, tenantId: u.tenantId },
    csrfToken: info.csrfToken,
    expiresAt: info.expiresAt.toISOString(),
  };
}

function sessionOf(req: FastifyRequest): SessionInfo {
  const s = principalOf(req).session;
  // The SESSION access rule admits only session cookies.
  if (!s) throw new Error("session route without a session");
  return s;
}

export const sessionRoutesPlugin: FastifyPluginAsync<SessionRoutesOptions> = async (app, opts) => {
  app.post<{ Body: { tenant: string; username: string; password: string } }>("/v1/session", { config: PUBLIC, schema: { body: loginBody } }, async (req, reply) => {
    const { secret, info } = await opts.sessions.login(req.body.tenant, req.body.username, req.body.password, req.ip);
    return reply.header("set-cookie", sessionCookie(secret)).header("cache-control", "no-store").send(sessionJson(info));
  });
  app.get("/v1/session", { config: SESSION }, async (req, reply) => reply.header("cache-control", "no-store").send(sessionJson(sessionOf(req))));
  app.delete("/v1/session", { config: SESSION }, async (req, reply) => {
    await opts.sessions.revoke(sessionOf(req).id);
    return reply.header("set-cookie", clearedSessionCookie()).code(204).send();
  });
  // Who the caller is, for any credential (the CLI's `daalu whoami` after a pasted token): tenant and role.
  app.get("/v1/whoami", async (req, reply) => {
    const p = principalOf(req);
    return reply.header("cache-control", "no-store").send({
      tenantId: p.tenantId,
      role: p.role,
      caller: { kind: (CallerKind[p.caller.kind] ?? "USER").toLowerCase(), id: p.caller.id },
      via: p.session ? "session" : "token",
    });
  });
  app.get("/v1/auth/config", { config: PUBLIC }, async () => ({ oidc: { enabled: opts.oidcLabel !== undefined, label: opts.oidcLabel ?? null }, publicUrl: opts.publicUrl }));
};
