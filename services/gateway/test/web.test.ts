import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { gatewayHarness } from "./helpers.js";
import { WEB_APP_ROUTES } from "../src/http/web.js";

// The gateway serves the web app's build (GATEWAY_WEB_DIR): its pages are
// index.html, never cached, under a CSP without 'unsafe-inline'; its assets
// are cached for a year; without a build the pages say how to make one.

const INDEX = '<!doctype html><html><head><script type="module" src="/assets/app-3f2a1b.js"></script></head><body><div id="root"></div></body></html>';

function builtApp(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "daalu-web-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(path.join(dir, "assets"));
  writeFileSync(path.join(dir, "index.html"), INDEX);
  writeFileSync(path.join(dir, "assets", "app-3f2a1b.js"), "console.log('app');\n");
  writeFileSync(path.join(dir, "secret.txt"), "not an asset\n");
  return dir;
}

const get = (base: string, p: string) => fetch(base + p, { redirect: "manual" });

test("the web app's pages are its index.html under a strict CSP; / goes to /clusters", async (t) => {
  const { gw } = await gatewayHarness(t, { GATEWAY_WEB_DIR: builtApp(t) });
  const root = await get(gw.url, "/");
  assert.equal(root.status, 302);
  assert.equal(root.headers.get("location"), "/clusters");
  const pages = WEB_APP_ROUTES.map((r) => r.replace(/:id/g, "c-123").replace(/:tab/g, "audit"));
  assert.ok(pages.includes("/clusters/c-123/audit"), pages.join(" "));
  for (const p of [...pages, "/signin?returnTo=%2Fclusters%2Fc-123"]) {
    const r = await get(gw.url, p);
    assert.equal(r.status, 200, p);
    assert.match(r.headers.get("content-type") ?? "", /^text\/html/, p);
    assert.equal(await r.text(), INDEX, p);
    const csp = r.headers.get("content-security-policy") ?? "";
    assert.match(csp, /script-src 'self'/, p);
    assert.match(csp, /style-src 'self'/, p);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, p);
    assert.equal(r.headers.get("cache-control"), "no-cache", p);
  }
});

test("assets are cached for a year; nothing outside assets/ is served", async (t) => {
  const { gw } = await gatewayHarness(t, { GATEWAY_WEB_DIR: builtApp(t) });
  const js = await get(gw.url, "/assets/app-3f2a1b.js");
  assert.equal(js.status, 200);
  assert.match(js.headers.get("content-type") ?? "", /javascript/);
  assert.match(js.headers.get("cache-control") ?? "", /max-age=31536000/);
  assert.match(js.headers.get("cache-control") ?? "", /immutable/);
  assert.equal(await js.text(), "console.log('app');\n");

  const missing = await get(gw.url, "/assets/app-000000.js");
  assert.equal(missing.status, 404);
  assert.match(missing.headers.get("content-type") ?? "", /problem\+json/);
  await missing.body?.cancel();
  for (const p of ["/assets/..%2Fsecret.txt", "/assets/..%2Findex.html", "/secret.txt", "/index.html"]) {
    const r = await get(gw.url, p);
    const body = await r.text();
    assert.notEqual(r.status, 200, `${p}: ${body}`);
    assert.doesNotMatch(body, /not an asset/, p);
  }
  // Unknown pages are the API's 404, not the app.
  const unknown = await get(gw.url, "/nowhere");
  assert.equal(unknown.status, 404);
  assert.match(unknown.headers.get("content-type") ?? "", /problem\+json/);
  await unknown.body?.cancel();
});

test("without a build, the pages say how to build the web app", async (t) => {
  const empty = mkdtempSync(path.join(os.tmpdir(), "daalu-web-none-"));
  t.after(() => rmSync(empty, { recursive: true, force: true }));
  const { gw } = await gatewayHarness(t, { GATEWAY_WEB_DIR: empty });
  for (const p of ["/", "/clusters"]) {
    const r = await get(gw.url, p);
    assert.equal(r.status, 503, p);
    assert.match(r.headers.get("content-type") ?? "", /^text\/html/);
    const body = await r.text();
    assert.match(body, /npm run build -w web/, p);
    assert.match(body, /GATEWAY_WEB_DIR/, p);
  }
  // The API works without the app.
  assert.equal((await get(gw.url, "/healthz")).status, 200);
});
