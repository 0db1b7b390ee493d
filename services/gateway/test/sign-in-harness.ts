import assert from "node:assert/strict";
import { parseSetCookie } from "cookie";
import { createLogger } from "@daalu/runtime";
import { setup, type TestEnv } from "@daalu/testing";
import { createUser, openGatewayStore } from "../src/admin.js";
import { loadConfig } from "../src/config.js";
import { start, type RunningGateway } from "../src/service.js";
import { http, seedTenant, type Res, type Tokens } from "./helpers.js";

/** A clock the test moves by hand (sessions, CLI codes). */
export class TestClock {
  constructor(public ms = Date.parse("2026-12-02T12:00:00Z")) {}
  readonly now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

/** Password of every user the harness creates. */
export const PASSWORD = "correct horse battery staple";

export interface SignInHarness {
  env: TestEnv;
  gw: RunningGateway;
  clock: TestClock;
  tokens: Tokens;
}

/**
 * Tenant "acme" with admin/viewer API tokens and users alice (admin), oscar
 * (operator) and victor (viewer), all with PASSWORD; a gateway alone on a
 * hand-moved clock.
 */
export async function signInHarness(t: { after(fn: () => Promise<void>): void }, extra: Record<string, string> = {}): Promise<SignInHarness> {
  const env = await setup();
  t.after(() => env.cleanup());
  const tokens = await seedTenant(env, "acme");
  const store = await openGatewayStore(env.databaseUrl);
  try {
    await createUser(store, "acme", "alice", { role: "admin", password: PASSWORD, displayName: "Alice Admin" });
    await createUser(store, "acme", "oscar", { role: "operator", password: PASSWORD });
    await createUser(store, "acme", "victor", { role: "viewer", password: PASSWORD });
  } finally {
    await store.close();
  }
  const clock = new TestClock();
  const gw = await startGatewayAt(env, clock, extra);
  t.after(() => gw.close());
  return { env, gw, clock, tokens };
}

export async function startGatewayAt(env: TestEnv, clock: TestClock, extra: Record<string, string> = {}): Promise<RunningGateway> {
  const config = loadConfig({ ...env.env, GATEWAY_LISTEN: "127.0.0.1:0", LOG_LEVEL: "silent", ...extra });
  return start(config, createLogger("gateway", config.logLevel), { clock: clock.now });
}

/** The Set-Cookie headers of a response, parsed. */
export function setCookies(r: Res): ReturnType<typeof parseSetCookie>[] {
  return r.headers.getSetCookie().map((c) => parseSetCookie(c));
}

/** A signed-in browser: its session cookie and CSRF token. */
export interface Browser {
  cookie: string;
  csrf: string;
  body: Res["body"];
}

export async function signIn(base: string, username: string, password = PASSWORD, tenant = "acme"): Promise<Browser> {
  const r = await http(base, "POST", "/v1/session", { json: { tenant, username, password } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const c = setCookies(r).find((x) => x.name === "daalu_session");
  assert.ok(c?.value, "no session cookie");
  return { cookie: `daalu_session=${c.value}`, csrf: r.body.csrfToken, body: r.body };
}

/** A request as the browser: its cookie, and its CSRF token unless `csrf` says otherwise. */
export function asBrowser(base: string, b: Browser, method: string, path: string, opts: { json?: unknown; csrf?: string | null } = {}): Promise<Res> {
  const csrf = opts.csrf === undefined ? b.csrf : opts.csrf;
  return http(base, method, path, { ...(opts.json !== undefined ? { json: opts.json } : {}), headers: { cookie: b.cookie, ...(csrf !== null ? { "x-csrf-token": csrf } : {}) } });
}
