import type { FastifyReply, FastifyRequest } from "fastify";

/**
 * The Content-Security-Policy of every gateway response: scripts and styles
 * only from this origin (no 'unsafe-inline', no eval), no framing, no <base>,
 * forms post only here. The web app is built to need nothing more.
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/** One onSend hook (`app.addHook("onSend", securityHeaders)`): the same headers on every answer, errors included. */
export async function securityHeaders(_req: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  reply.header("content-security-policy", CONTENT_SECURITY_POLICY);
  reply.header("x-content-type-options", "nosniff");
  reply.header("referrer-policy", "no-referrer");
  return payload;
}
