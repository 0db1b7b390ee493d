import assert from "node:assert/strict";
import { createLogger } from "@daalu/runtime";
import { startStack as startServices } from "@daalu/stack";
import { setup, type TestEnv } from "@daalu/testing";
import { createApiToken, createTenant, openGatewayStore } from "../src/admin.js";
import { loadConfig } from "../src/config.js";
import { start, type RunningGateway } from "../src/service.js";

/** Starts an in-process gateway on a free port against the test's database and prefix. */
export async function startGateway(env: TestEnv, extra: Record<string, string> = {}): Promise<RunningGateway> {
  const config = loadConfig({ ...env.env, GATEWAY_LISTEN: "127.0.0.1:0", LOG_LEVEL: "silent", ...extra });
  return start(config, createLogger("gateway", config.logLevel));
}

/** A fresh environment with tenant "acme" (admin and viewer tokens) and a gateway alone (no other service), both cleaned up after the test. */
export async function gatewayHarness(t: { after(fn: () => Promise<void>): void }, extra: Record<string, string> = {}): Promise<{ env: TestEnv; gw: RunningGateway; tokens: Tokens }> {
  const env = await setup();
  t.after(() => env.cleanup());
  const tokens = await seedTenant(env, "acme");
  const gw = await startGateway(env, extra);
  t.after(() => gw.close());
  return { env, gw, tokens };
}

export interface Tokens {
  admin: string;
  viewer: string;
}

/** Creates `tenant` with one admin and one viewer token. */
/** A viewer token of an existing tenant whose caller is an assistant or an agent (shows in audit rows). */
export async function botToken(env: TestEnv, tenant: string, name: string, kind: "assistant" | "agent"): Promise<string> {
  const store = await openGatewayStore(env.databaseUrl);
  try {
    return (await createApiToken(store, tenant, name, { role: "viewer", kind })).token;
  } finally {
    await store.close();
  }
}

export async function seedTenant(env: TestEnv, tenant: string): Promise<Tokens> {
  const store = await openGatewayStore(env.databaseUrl);
  try {
    await createTenant(store, tenant);
    const admin = await createApiToken(store, tenant, "alice", { role: "admin" });
    const viewer = await createApiToken(store, tenant, "victor", { role: "viewer" });
    return { admin: admin.token, viewer: viewer.token };
  } finally {
    await store.close();
  }
}

export interface Res {
  status: number;
  type: string;
  headers: Headers;
  /** The parsed JSON (or text) body; tests read it field by field. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed JSON body, read loosely by tests
  body: any;
}

/** Asserts an RFC 9457 problem with this status and Daalu reason. */
export function assertProblem(r: Pick<Res, "status" | "type" | "body">, status: number, reason: string): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.match(r.type, /^application\/problem\+json/);
  assert.equal(r.body.status, status);
  assert.equal(r.body.reason, reason, JSON.stringify(r.body));
  assert.equal(typeof r.body.detail, "string");
}

/** A small fetch wrapper: JSON in, parsed JSON (or text) out. */
export async function http(base: string, method: string, path: string, opts: { token?: string; json?: unknown; raw?: string; contentType?: string; headers?: Record<string, string> } = {}): Promise<Res> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers["authorization"] = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    headers["content-type"] = "application/json";
  }
  if (opts.raw !== undefined) body = opts.raw;
  if (opts.contentType) headers["content-type"] = opts.contentType;
  const res = await fetch(base + path, { method, headers, body });
  const text = await res.text();
  const type = res.headers.get("content-type") ?? "";
  return { status: res.status, type, headers: res.headers, body: type.includes("json") && text ? JSON.parse(text) : text };
}

/**
 * The real peering, invite and gateway services, started in this process
 * (startStack's in-process mode, the same start() their main.ts runs), so
 * that one InMemorySpanExporter sees every service's spans. GATEWAY_TLS_* in
 * `opts.gateway` serve https.
 */
export async function startStack(env: TestEnv, opts: { invite?: Record<string, string>; peering?: Record<string, string>; gateway?: Record<string, string> } = {}): Promise<{ gw: RunningGateway; stop(): Promise<void> }> {
  const { GATEWAY_TLS_CERT_FILE: certFile, GATEWAY_TLS_KEY_FILE: keyFile, GATEWAY_TLS_CA_FILE: caFile, ...gateway } = opts.gateway ?? {};
  const stack = await startServices({
    databaseUrl: env.databaseUrl,
    natsUrl: env.natsUrl,
    prefix: env.prefix,
    env: { ...env.env, LOG_LEVEL: "silent" },
    services: ["peering", "invite", "gateway"],
    inProcess: ["peering", "invite", "gateway"],
    serviceEnv: { invite: { INVITE_PEERING_TIMEOUT: "20s", ...opts.invite }, ...(opts.peering ? { peering: opts.peering } : {}), gateway },
    ...(certFile && keyFile ? { gateway: { tls: { certFile, keyFile, ...(caFile ? { caFile } : {}) } } } : {}),
  });
  return { gw: stack.inProcess.gateway!, stop: () => stack.stop() };
}
