import { test } from "node:test";
import assert from "node:assert/strict";
import { assertProblem, gatewayHarness, http, type Res } from "./helpers.js";
import { WEB_APP_ROUTES } from "../src/http/web.js";

// Authentication, then authorization, then everything else: a request without
// a token learns nothing about the route's body, params or query rules, and a
// viewer learns nothing about an admin route's. Table-driven over Fastify's
// route table, so a new route is covered the day it is added.

/** The only routes anyone may call without a token. The edge chart's Helm repository (/charts) holds nothing secret and helm sends no token. */
const PUBLIC = new Set(["GET /", "GET /healthz", "GET /readyz", "GET /openapi.json", "POST /v1/bootstrap", "GET /charts/index.yaml", "GET /charts/{file}", "GET /assets/{file}", "POST /v1/session", "GET /v1/auth/config", "GET /v1/auth/oidc/login", "GET /v1/auth/oidc/callback", "GET /v1/auth/cli/authorize", "POST /v1/auth/cli/token"]);
// The web app's pages (its index.html) hold nothing secret either; the app signs in through the API.
for (const r of WEB_APP_ROUTES) PUBLIC.add(`GET ${r.replace(/:([A-Za-z]+)/g, "{$1}")}`);
/** Routes that need an admin token. */
const ADMIN = new Set(["POST /v1/clusters", "DELETE /v1/clusters/{id}", "POST /v1/clusters/{id}/invites", "POST /v1/invites/{id}/revoke", "POST /v1/invites/{id}/regenerate", "PUT /v1/subnet", "PUT /v1/clusters/{id}/desired-state", "PUT /v1/clusters/{id}/reconciliation", "POST /v1/clusters/{id}/rbac/patch"]);

/** A request to `route` that is wrong in every way validation could notice: params, query and body. */
function hostile(route: string): { method: string; path: string; raw?: string; contentType?: string } {
  const [method, tpl] = route.split(" ") as [string, string];
  const path = `${tpl.replace(/\{[A-Za-z]+\}/g, "not%20valid").replace(/\*$/, "api/v1/pods")}?unexpected=1`;
  return method === "GET" || method === "HEAD" || method === "OPTIONS" ? { method, path } : { method, path, raw: '{"argv": [1', contentType: "application/json" };
}

function assertRefused(r: Res, status: number, reason: string, what: string): void {
  if (what.includes(" /k8s/")) {
    assert.equal(r.status, status, `${what}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.kind, "Status", what);
    assert.equal(r.body.details.causes[0].reason, reason, what);
  } else {
    assert.doesNotThrow(() => assertProblem(r, status, reason), `${what}: ${r.status} ${JSON.stringify(r.body)}`);
  }
}

test("every non-public route answers 401 without a token, before it reads or validates anything", async (t) => {
  const { gw } = await gatewayHarness(t);
  const routes = gw.routes.filter((r) => !PUBLIC.has(r));
  assert.ok(routes.length >= 15, routes.join(", "));
  for (const route of routes) {
    const h = hostile(route);
    assertRefused(await http(gw.url, h.method, h.path, h), 401, "UNAUTHENTICATED", route);
  }
  // Not even an oversized body is read first.
  assertRefused(await http(gw.url, "POST", "/v1/clusters", { raw: "x".repeat(200 * 1024), contentType: "application/json" }), 401, "UNAUTHENTICATED", "POST /v1/clusters (200 KiB)");
  assertRefused(await http(gw.url, "PUT", "/v1/subnet", { raw: "cidr=x", contentType: "application/x-www-form-urlencoded" }), 401, "UNAUTHENTICATED", "PUT /v1/subnet (form)");
});

test("a viewer on an admin route is 403 before its body, params or query are validated", async (t) => {
  const { gw, tokens } = await gatewayHarness(t);
  for (const route of ADMIN) {
    assert.ok(gw.routes.includes(route), `${route} is not served`);
    const h = hostile(route);
    assertRefused(await http(gw.url, h.method, h.path, { ...h, token: tokens.viewer }), 403, "ADMIN_REQUIRED", route);
  }
  // An admin's bad request is still refused by validation.
  assertProblem(await http(gw.url, "POST", "/v1/clusters", { token: tokens.admin, raw: '{"name": 1}', contentType: "application/json" }), 400, "INVALID_REQUEST");
});
