/**
 * Browser login (OAuth 2.0 for native apps, RFC 8252, with PKCE, RFC 7636):
 * a loopback HTTP server on 127.0.0.1 at a free port receives the hub's
 * redirect; the hub's page signs the person in and sends them back with a
 * one-time code, which only the holder of the PKCE verifier can exchange for
 * an API token.
 *
 *   GET  <hub>/v1/auth/cli/authorize?redirect_uri=http://127.0.0.1:PORT/callback
 *        &state=S&code_challenge=C&code_challenge_method=S256
 *   -> http://127.0.0.1:PORT/callback?code=..&state=S
 *   POST <hub>/v1/auth/cli/token {code, codeVerifier} -> {token, tenantId, username, role}
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { CliError, EXIT } from "./exit.js";
import type { Hub } from "./hub.js";

export interface CliToken {
  token: string;
  tenantId: string;
  username: string;
  role: string;
}

export interface BrowserLoginOptions {
  /** Open the system browser (else only print the URL). */
  openBrowser: boolean;
  timeoutMs: number;
  /** Where the URL and progress go (stderr). */
  say(line: string): void;
}

const b64url = (b: Buffer) => b.toString("base64url");

/** A PKCE pair: a 256-bit verifier and its S256 challenge. */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = b64url(randomBytes(32));
  return { verifier, challenge: b64url(createHash("sha256").update(verifier).digest()) };
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const PAGE = (title: string, text: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><main><h1>${title}</h1><p>${text}</p></main></body></html>`;

export async function browserLogin(hub: Hub, o: BrowserLoginOptions): Promise<CliToken> {
  const state = b64url(randomBytes(32));
  const { verifier, challenge } = pkcePair();
  let settle!: { ok: (code: string) => void; fail: (e: CliError) => void };
  const got = new Promise<string>((ok, fail) => (settle = { ok, fail }));
  let done = false;
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? "/", "http://127.0.0.1");
    const reply = (status: number, title: string, text: string) =>
      res.writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", "content-security-policy": "default-src 'none'", "referrer-policy": "no-referrer" }).end(PAGE(title, text));
    if (req.method !== "GET" || u.pathname !== "/callback") return reply(404, "Not found", "This address only takes the hub's sign-in redirect.");
    if (done) return reply(409, "Already used", "This sign-in has finished; return to your terminal.");
    if (!same(u.searchParams.get("state") ?? "", state)) return reply(400, "Sign-in refused", "The sign-in answer does not belong to this login (state mismatch). Run daalu login again.");
    done = true;
    const error = u.searchParams.get("error");
    const code = u.searchParams.get("code");
    if (error || !code) {
      reply(400, "Sign-in failed", "The hub did not sign you in. Return to your terminal.");
      settle.fail(new CliError(`the hub refused the sign-in: ${error ?? "no code"}${u.searchParams.get("error_description") ? ` (${u.searchParams.get("error_description")})` : ""}`, EXIT.auth, "try `daalu login` again, or log in with `--token`"));
      return;
    }
    reply(200, "Signed in", "You are signed in to the daalu CLI. You can close this tab.");
    settle.ok(code);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const timer = setTimeout(() => settle.fail(new CliError(`no sign-in within ${Math.round(o.timeoutMs / 1000)} s`, EXIT.timeout, "run `daalu login` again")), o.timeoutMs);
  try {
    const port = (server.address() as AddressInfo).port;
    const q = new URLSearchParams({ redirect_uri: `http://127.0.0.1:${port}/callback`, state, code_challenge: challenge, code_challenge_method: "S256" });
    const url = `${hub.url}/v1/auth/cli/authorize?${q}`;
    o.say(`Sign in to ${hub.url} in your browser:\n\n  ${url}\n`);
    if (o.openBrowser) {
      const { default: open } = await import("open");
      await open(url).catch(() => o.say("(could not open a browser; open the URL above yourself)"));
    }
    const code = await got;
    return await hub.json<CliToken>("POST", "/v1/auth/cli/token", { code, codeVerifier: verifier });
  } finally {
    clearTimeout(timer);
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}
