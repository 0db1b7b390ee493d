import { createLogger } from "@daalu/runtime";
import type { TestEnv } from "@daalu/testing";
import { createApiToken, createTenant, openGatewayStore } from "../src/admin.js";
import { loadConfig } from "../src/config.js";
import { start, type RunningGateway } from "../src/service.js";

/** Starts an in-process gateway on a free port against the test's database and prefix. */
export async function startGateway(env: TestEnv, extra: Record<string, string> = {}): Promise<RunningGateway> {
  const config = loadConfig({ ...env.env, GATEWAY_LISTEN: "127.0.0.1:0", LOG_LEVEL: "silent", ...extra });
  return start(config, createLogger("gateway", config.logLevel));
}

export interface Tokens {
  admin: string;
  viewer: string;
}

/** Creates `tenant` with one admin and one viewer token. */
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
  body: any;
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
