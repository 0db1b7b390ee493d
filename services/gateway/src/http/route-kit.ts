/**
 * Small helpers the gateway's route plugins share: run a handler inside the
 * request's span (so NATS calls carry its trace) and authenticate the caller.
 */
import type { FastifyRequest } from "fastify";
import { context } from "@daalu/runtime";
import { requireAdmin, type Authenticator, type Principal } from "../auth.js";

/** Runs `fn` in the request's trace context. */
export function inSpan<T>(req: FastifyRequest, fn: () => Promise<T>): Promise<T> {
  return context.with(req.traceCtx ?? context.active(), fn);
}

/** Verifies the bearer token (and the admin role when asked) and records the tenant on the span. */
export async function authenticate(auth: Authenticator, req: FastifyRequest, admin = false): Promise<Principal> {
  const p = await auth.authenticate(req.headers.authorization);
  if (admin) requireAdmin(p);
  req.principal = p;
  req.span?.setAttribute("daalu.tenant", p.tenantId);
  return p;
}
