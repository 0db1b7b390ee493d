import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { buildBin, startBrowserLogin } from "./run-cli.js";

// The CLI's side of the browser login, the real bin against a stand-in for
// the hub's two endpoints as the auth contract states them (the gateway's own
// implementation is tested in services/gateway/test/): GET authorize answers
// a signed-in browser with a redirect to the CLI's loopback callback; POST
// token trades the one-time code for an API token only with the verifier
// whose S256 challenge the authorize request carried.

interface Pending {
  challenge: string;
  redirect: string;
  state: string;
}

let hub: http.Server;
let hubUrl: string;
let dir: string;
const codes = new Map<string, Pending>();
let deny = false;
let tokenRequests = 0;

before(async () => {
  buildBin();
  dir = mkdtempSync(path.join(tmpdir(), "daalu-browser-login-"));
  hub = http.createServer((req, res) => {
    const u = new URL(req.url ?? "/", "http://hub");
    if (req.method === "GET" && u.pathname === "/v1/auth/cli/authorize") {
      const redirect = u.searchParams.get("redirect_uri") ?? "";
      const ok = /^http:\/\/127\.0\.0\.1:\d+\/callback$/.test(redirect) && u.searchParams.get("code_challenge_method") === "S256" && /^[A-Za-z0-9_-]{43}$/.test(u.searchParams.get("code_challenge") ?? "") && (u.searchParams.get("state") ?? "").length >= 32;
      if (!ok) return res.writeHead(400, { "content-type": "application/problem+json" }).end(JSON.stringify({ status: 400, reason: "INVALID_REDIRECT_URI", detail: "bad authorize request" }));
      const state = u.searchParams.get("state")!;
      if (deny) return res.writeHead(302, { location: `${redirect}?error=access_denied&state=${state}` }).end();
      const code = `code-${codes.size + 1}`;
      codes.set(code, { challenge: u.searchParams.get("code_challenge")!, redirect, state });
      return res.writeHead(302, { location: `${redirect}?code=${code}&state=${encodeURIComponent(state)}` }).end();
    }
    if (req.method === "POST" && u.pathname === "/v1/auth/cli/token") {
      tokenRequests++;
      let body = "";
      req.setEncoding("utf8").on("data", (d: string) => (body += d));
      req.on("end", () => {
        const { code, codeVerifier } = JSON.parse(body) as { code: string; codeVerifier: string };
        const p = codes.get(code);
        codes.delete(code);
        if (!p || createHash("sha256").update(codeVerifier).digest("base64url") !== p.challenge) {
          return res.writeHead(400, { "content-type": "application/problem+json" }).end(JSON.stringify({ status: 400, reason: "INVALID_GRANT", detail: "the code or its verifier is wrong" }));
        }
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ token: "dak1_from_the_browser", tenantId: "acme", username: "alice", role: "operator" }));
      });
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => hub.listen(0, "127.0.0.1", r));
  hubUrl = `http://127.0.0.1:${(hub.address() as AddressInfo).port}`;
});

after(async () => {
  hub?.closeAllConnections();
  await new Promise((r) => hub?.close(r));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const startLogin = (config: string, extra: string[] = []) => startBrowserLogin(hubUrl, config, extra);

test("browser login: the redirect with the right state logs in; a forged callback is refused and changes nothing", async () => {
  const config = path.join(dir, "ok.json");
  const { url, run } = startLogin(config);
  const authorize = new URL(await url);
  assert.equal(authorize.origin, hubUrl);
  assert.equal(authorize.searchParams.get("code_challenge_method"), "S256");
  // The browser: the hub (signed in) redirects to the CLI's loopback address.
  const r = await fetch(authorize, { redirect: "manual" });
  assert.equal(r.status, 302);
  const callback = new URL(r.headers.get("location")!);
  assert.equal(callback.hostname, "127.0.0.1");

  // Someone else's answer (another state) is refused, and the login keeps waiting.
  const forged = new URL(callback);
  forged.searchParams.set("state", "x".repeat(43));
  forged.searchParams.set("code", "code-stolen");
  const f = await fetch(forged);
  assert.equal(f.status, 400);
  assert.match(await f.text(), /state mismatch/);
  const other = await fetch(new URL("/elsewhere", callback));
  assert.equal(other.status, 404);

  const page = await fetch(callback);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /You are signed in/);
  const done = await run;
  assert.equal(done.code, 0, done.stderr);
  assert.match(done.stderr, /Logged in to http:\/\/127\.0\.0\.1:\d+ as alice \(operator, tenant acme\)/);
  assert.equal(statSync(config).mode & 0o777, 0o600);
  assert.deepEqual(JSON.parse(readFileSync(config, "utf8")), { hub: hubUrl, token: "dak1_from_the_browser", tenant: "acme", username: "alice", role: "operator" });
  assert.equal(codes.size, 0, "the code was exchanged (with the right verifier)");
  // The loopback server is gone with the login.
  await assert.rejects(fetch(callback));
});

test("browser login: a refused sign-in exits 4, no sign-in at all exits 5; nothing is saved", async () => {
  deny = true;
  const config = path.join(dir, "denied.json");
  const before = tokenRequests;
  const { url, run } = startLogin(config);
  const r = await fetch(await url);
  assert.equal(r.status, 400, "the callback page says the sign-in failed");
  const denied = await run;
  deny = false;
  assert.equal(denied.code, 4, denied.stderr);
  assert.match(denied.stderr, /the hub refused the sign-in: access_denied/);
  assert.equal(tokenRequests, before, "no code, no exchange");
  assert.throws(() => statSync(config), /ENOENT/);

  const idle = await startLogin(config, ["--timeout", "1s"]).run;
  assert.equal(idle.code, 5, idle.stderr);
  assert.match(idle.stderr, /no sign-in within 1 s/);
  assert.throws(() => statSync(config), /ENOENT/);
});
