/**
 * The operator web app (the `web/` workspace, built by `npm run build -w web`
 * into web/dist, GATEWAY_WEB_DIR), served by the gateway:
 *
 *   GET /                    → 302 /clusters
 *   GET /signin, /clusters, /clusters/{id}, /clusters/{id}/{tab},
 *       /settings/clusters/subnet, /settings/clusters/reconciliation, /settings/clusters/{id}/rbac
 *                            → index.html (the app routes in the browser), never cached
 *   GET /assets/{file}       → the build's files; their names carry a content hash,
 *                              so they are cached for a year, immutable
 *
 * Public: the pages hold nothing secret; the app asks GET /v1/session who is
 * signed in and every API call is authenticated on its own. The HTML is sent
 * with a Content-Security-Policy without 'unsafe-inline' (the build inlines no
 * script or style). When the build is missing, these pages say in words how to
 * make it. Register with `app.register(webAppPlugin, { dir, logger })`.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import type { FastifyInstance, FastifyReply } from "fastify";
import fastifyStatic from "@fastify/static";
import type { Logger } from "@daalu/runtime";
import { PUBLIC } from "./route-kit.js";

export interface WebAppOptions {
  /** The built app: index.html and assets/. */
  dir: string;
  logger: Logger;
}

/** The app's own routes (react-router's), each answered with index.html. */
export const WEB_APP_ROUTES = ["/signin", "/clusters", "/clusters/:id", "/clusters/:id/:tab", "/settings/clusters/subnet", "/settings/clusters/reconciliation", "/settings/clusters/:id/rbac"] as const;

export const WEB_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const YEAR_MS = 365 * 24 * 3600 * 1000;

const NOT_BUILT = (dir: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Daalu Federation: web app not built</title></head>
<body><main><h1>The web app is not built</h1>
<p>This gateway serves the operator web app from <code>${dir.replace(/[<>&"]/g, "")}</code>, which has no <code>index.html</code>.</p>
<p>Build it from the repository root with <code>npm run build -w web</code> (or set <code>GATEWAY_WEB_DIR</code> to a built copy), then reload this page.
The REST API under <code>/v1</code> works without it.</p></main></body></html>
`;

export async function webAppPlugin(app: FastifyInstance, opts: WebAppOptions): Promise<void> {
  const dir = path.resolve(opts.dir);
  const index = path.join(dir, "index.html");
  if (!existsSync(index)) opts.logger.warn({ dir }, "web app not built: run `npm run build -w web`");
  // Only reply.sendFile (serve: false): every route is declared here, with its access.
  await app.register(fastifyStatic, { root: dir, serve: false });

  const html = (reply: FastifyReply) => {
    reply.header("content-security-policy", WEB_CSP).header("x-content-type-options", "nosniff").header("referrer-policy", "same-origin").header("cache-control", "no-cache");
    if (!existsSync(index)) return reply.code(503).type("text/html; charset=utf-8").send(NOT_BUILT(dir));
    return reply.type("text/html; charset=utf-8").sendFile("index.html", dir, { cacheControl: false });
  };

  app.get("/", { config: PUBLIC }, async (_req, reply) => (existsSync(index) ? reply.redirect("/clusters", 302) : html(reply)));
  for (const route of WEB_APP_ROUTES) app.get(route, { config: PUBLIC }, async (_req, reply) => html(reply));
  app.get<{ Params: { file: string } }>("/assets/:file", { config: PUBLIC }, async (req, reply) => {
    reply.header("x-content-type-options", "nosniff");
    return reply.sendFile(req.params.file, path.join(dir, "assets"), { maxAge: YEAR_MS, immutable: true, cacheControl: true, dotfiles: "deny" });
  });
}
