/**
 * Small helpers the gateway's route plugins share: who may call a route, run
 * a handler inside the request's span (so NATS calls carry its trace), and
 * the caller the access hook verified.
 *
 * Access is checked once for every route, in `onRequest` (accessHook, added
 * by buildApp before any plugin registers): authentication, then the role,
 * before the body is read, parsed or validated, and before params and query
 * are validated. A request without a valid token therefore learns nothing
 * about a route's input rules (401), nor a viewer about an admin route's
 * (403). A session cookie counts as a token, and with one every request but
 * GET and HEAD needs the session's X-CSRF-Token (auth.ts). Routes are
 * token-only unless they say otherwise in their config: `{ config: PUBLIC }`,
 * `{ config: ADMIN }` or `{ config: SESSION }`. Tenant scoping (another
 * tenant's cluster is 404) needs validated params and stays in the handler.
 */
import type { FastifyRequest } from "fastify";
import { context } from "@daalu/runtime";
import { requireAdmin, type Authenticator, type Principal } from "../auth.js";
import { UnauthenticatedError } from "../errors.js";

/**
 * Who may call a route: anyone, any valid token or session (the default), an
 * admin token or session, or a session only (the session routes).
 */
export type Access = "public" | "token" | "admin" | "session";

declare module "fastify" {
  interface FastifyContextConfig {
    access?: Access;
  }
}

export const PUBLIC = { access: "public" } as const;
export const ADMIN = { access: "admin" } as const;
export const SESSION = { access: "session" } as const;

/** The `onRequest` hook enforcing each route's access (unknown routes stay 404 for everyone). */
export function accessHook(auth: Authenticator): (req: FastifyRequest) => Promise<void> {
  return async (req) => {
    if (req.is404) return;
    const access = req.routeOptions.config.access ?? "token";
    if (access === "public") return;
    if (access === "session") {
      req.principal = await auth.authenticateSession(req);
      return;
    }
    await authenticate(auth, req, access === "admin");
  };
}

/** Runs `fn` in the request's trace context. */
export function inSpan<T>(req: FastifyRequest, fn: () => Promise<T>): Promise<T> {
  return context.with(req.traceCtx ?? context.active(), fn);
}

/**
 * The request's verified caller (the access hook's), verifying the bearer
 * token or session cookie only when no hook did; with `admin`, the admin role
 * is required too.
 */
export async function authenticate(auth: Authenticator, req: FastifyRequest, admin = false): Promise<Principal> {
  const p = req.principal ?? (await auth.authenticateRequest(req));
  if (admin) requireAdmin(p);
  req.principal = p;
  req.span?.setAttribute("daalu.tenant", p.tenantId);
  return p;
}

/** The caller the access hook verified; a route marked PUBLIC has none. */
export function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw new UnauthenticatedError();
  return req.principal;
}
