import { test } from "node:test";
import assert from "node:assert/strict";
import { initTracing } from "@daalu/runtime";
import { createApiToken, openGatewayStore, revokeApiToken } from "../src/admin.js";
import { openapi } from "../src/openapi.js";
import { assertProblem, gatewayHarness, http } from "./helpers.js";

initTracing({ serviceName: "gateway-test" });

// Gateway-only behaviour: no invite or peering service runs in these tests, so
// anything that passes authentication and validation ends in 503 (no responders).


test("missing, malformed, unknown and revoked tokens get 401 problems", async (t) => {
  const { env, gw } = await gatewayHarness(t);
  assertProblem(await http(gw.url, "GET", "/v1/clusters"), 401, "UNAUTHENTICATED");
  assertProblem(await http(gw.url, "GET", "/v1/clusters", { headers: { authorization: "Basic abc" } }), 401, "UNAUTHENTICATED");
  assertProblem(await http(gw.url, "GET", "/v1/clusters", { token: "dak1_nope" }), 401, "UNAUTHENTICATED");
  // Right shape, wrong secret.
  const store = await openGatewayStore(env.databaseUrl);
  t.after(() => store.close());
  const real = await createApiToken(store, "acme", "bob", { role: "admin" });
  const forged = real.token.slice(0, -4) + (real.token.endsWith("AAAA") ? "BBBB" : "AAAA");
  assertProblem(await http(gw.url, "GET", "/v1/clusters", { token: forged }), 401, "UNAUTHENTICATED");
  const revoked = await createApiToken(store, "acme", "carol", { role: "admin" });
  await revokeApiToken(store, revoked.id);
  const r = await http(gw.url, "GET", "/v1/clusters", { token: revoked.token });
  assertProblem(r, 401, "UNAUTHENTICATED");
  assert.match(r.body.detail, /revoked/);
  // A valid token gets past authentication: with no peering service running that is a 503.
  assertProblem(await http(gw.url, "GET", "/v1/clusters", { token: real.token }), 503, "UNAVAILABLE");
});

test("a viewer cannot create, delete, re-enroll, revoke or change the subnet", async (t) => {
  const { gw, tokens } = await gatewayHarness(t);
  const cases: [string, string, unknown][] = [
    ["POST", "/v1/clusters", { name: "prod" }],
    ["DELETE", "/v1/clusters/abc", undefined],
    ["POST", "/v1/clusters/abc/invites", undefined],
    ["POST", "/v1/invites/abc/revoke", undefined],
    ["POST", "/v1/invites/abc/regenerate", undefined],
    ["PUT", "/v1/subnet", { cidr: "10.1.0.0/24" }],
  ];
  for (const [m, p, json] of cases) assertProblem(await http(gw.url, m, p, { token: tokens.viewer, json }), 403, "ADMIN_REQUIRED");
  // Reads are allowed (503 only because peering is not running here).
  assertProblem(await http(gw.url, "GET", "/v1/clusters", { token: tokens.viewer }), 503, "UNAVAILABLE");
});

test("unknown routes and methods are 404 problems", async (t) => {
  const { gw, tokens } = await gatewayHarness(t);
  assertProblem(await http(gw.url, "GET", "/v2/nothing"), 404, "ROUTE_NOT_FOUND");
  assertProblem(await http(gw.url, "PATCH", "/v1/clusters", { token: tokens.admin }), 404, "ROUTE_NOT_FOUND");
});

test("hostile bootstrap bodies get clear 4xx problems", async (t) => {
  const { gw } = await gatewayHarness(t);
  const key = Buffer.alloc(32, 7).toString("base64");
  const post = (opts: Parameters<typeof http>[3]) => http(gw.url, "POST", "/v1/bootstrap", opts);
  assertProblem(await post({ raw: "token=x", contentType: "application/x-www-form-urlencoded" }), 415, "UNSUPPORTED_MEDIA_TYPE");
  assertProblem(await post({ raw: "hello", contentType: "text/plain" }), 415, "UNSUPPORTED_MEDIA_TYPE");
  assertProblem(await post({ raw: "{not json", contentType: "application/json" }), 400, "INVALID_JSON");
  assertProblem(await post({ raw: "", contentType: "application/json" }), 400, "INVALID_REQUEST");
  assertProblem(await post({ json: [1, 2] }), 400, "INVALID_REQUEST");
  assertProblem(await post({ json: { token: 5, publicKey: key } }), 400, "INVALID_REQUEST");
  assertProblem(await post({ json: { token: "x" } }), 400, "INVALID_REQUEST");
  assertProblem(await post({ json: { token: "x", publicKey: key, admin: true } }), 400, "INVALID_REQUEST");
  assertProblem(await post({ json: { token: "x".repeat(600), publicKey: key } }), 400, "INVALID_REQUEST");
  assertProblem(await post({ raw: JSON.stringify({ token: "x", publicKey: "k".repeat(5000) }), contentType: "application/json" }), 413, "BODY_TOO_LARGE");
  assertProblem(await post({ raw: '{"__proto__":{"x":1},"token":"a","publicKey":"b"}', contentType: "application/json" }), 400, "INVALID_JSON");
  // Well-formed: forwarded to the invite service, which is not running here.
  assertProblem(await post({ json: { token: "x", publicKey: key } }), 503, "UNAVAILABLE");
});

test("operator bodies are validated before anything is forwarded", async (t) => {
  const { gw, tokens } = await gatewayHarness(t);
  const token = tokens.admin;
  assertProblem(await http(gw.url, "POST", "/v1/clusters", { token, json: { name: "" } }), 400, "INVALID_REQUEST");
  assertProblem(await http(gw.url, "POST", "/v1/clusters", { token, json: { name: "a".repeat(64) } }), 400, "INVALID_REQUEST");
  assertProblem(await http(gw.url, "POST", "/v1/clusters", { token, json: { name: "ok", extra: 1 } }), 400, "INVALID_REQUEST");
  assertProblem(await http(gw.url, "POST", "/v1/clusters", { token, json: { name: 42 } }), 400, "INVALID_REQUEST");
  assertProblem(await http(gw.url, "POST", "/v1/clusters", { token, raw: "x".repeat(70 * 1024), contentType: "application/json" }), 413, "BODY_TOO_LARGE");
  assertProblem(await http(gw.url, "PUT", "/v1/subnet", { token, json: { cidr: 10 } }), 400, "INVALID_REQUEST");
  assertProblem(await http(gw.url, "POST", "/v1/invites/abc/revoke", { token, json: { force: true } }), 400, "INVALID_REQUEST");
  assertProblem(await http(gw.url, "GET", "/v1/clusters/a%20b", { token }), 400, "INVALID_REQUEST");
  assertProblem(await http(gw.url, "GET", "/v1/invites?clusterId=x&other=1", { token }), 400, "INVALID_REQUEST");
});

test("the public bootstrap route is rate limited per source address", async (t) => {
  const { gw } = await gatewayHarness(t, { GATEWAY_BOOTSTRAP_RATE: "1", GATEWAY_BOOTSTRAP_BURST: "3" });
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) statuses.push((await http(gw.url, "POST", "/v1/bootstrap", { json: { token: "x", publicKey: "y" } })).status);
  assert.deepEqual(statuses.slice(0, 3), [503, 503, 503]);
  const r = await http(gw.url, "POST", "/v1/bootstrap", { json: { token: "x", publicKey: "y" } });
  assertProblem(r, 429, "RATE_LIMITED");
});

test("the limiter is off with GATEWAY_BOOTSTRAP_RATE=0", async (t) => {
  const { gw } = await gatewayHarness(t, { GATEWAY_BOOTSTRAP_RATE: "0", GATEWAY_BOOTSTRAP_BURST: "1" });
  for (let i = 0; i < 5; i++) assert.equal((await http(gw.url, "POST", "/v1/bootstrap", { json: { token: "x", publicKey: "y" } })).status, 503);
});

test("OpenAPI lists every registered route", async (t) => {
  const { gw } = await gatewayHarness(t);
  const r = await http(gw.url, "GET", "/openapi.json");
  assert.equal(r.status, 200);
  assert.equal(r.body.openapi, "3.1.0");
  assert.ok(gw.routes.length >= 14, `routes: ${gw.routes.join(", ")}`);
  const paths = r.body.paths as Record<string, Record<string, unknown>>;
  for (const route of gw.routes) {
    const [method, path] = route.split(" ") as [string, string];
    assert.ok(paths[path]?.[method.toLowerCase()], `${route} is missing from openapi.ts`);
  }
  // And nothing documented that does not exist.
  for (const [path, ops] of Object.entries(openapi.paths)) {
    for (const m of Object.keys(ops)) assert.ok(gw.routes.includes(`${m.toUpperCase()} ${path}`), `openapi.ts documents ${m} ${path} which is not served`);
  }
});

test("health and readiness are served; trace ids are returned", async (t) => {
  const { gw } = await gatewayHarness(t);
  assert.equal((await http(gw.url, "GET", "/healthz")).status, 200);
  const ready = await http(gw.url, "GET", "/readyz");
  assert.equal(ready.status, 200);
  assert.equal(ready.body.status, "ready");
  const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
  const r = await http(gw.url, "GET", "/healthz", { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
  assert.equal(r.headers.get("x-trace-id"), traceId);
  const p = await http(gw.url, "GET", "/nope", { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
  assert.equal(p.body.traceId, traceId);
});
