/**
 * The real hub services for e2e tests, as separate processes (spawnService with
 * the test's isolated database and subject prefix): peering, invite and the
 * gateway, plus a tenant and an admin API token made with the gateway's CLI.
 */
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { spawnService, type ServiceProcess, type TestEnv } from "@daalu/testing";
import { generateKeyPair, type KeyPair } from "@daalu/wireguard";
import { ROOT, type NsHost } from "./netns.js";

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

function cli(env: Record<string, string>, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, ["--import", "tsx", path.join(ROOT, "services/gateway/src/cli.ts"), ...args], { cwd: ROOT, env: { ...process.env, ...env } }, (err, out, stderr) =>
      err ? reject(new Error(`gateway cli ${args.join(" ")}: ${stderr || err.message}`)) : resolve(String(out)),
    ),
  );
}

export interface HubStack {
  gatewayUrl: string;
  adminToken: string;
  tenant: string;
  hubKeys: KeyPair;
  services: ServiceProcess[];
  /** POST with the admin token; JSON in and out. */
  api(method: string, p: string, body?: unknown): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
}

/**
 * Starts peering (hub endpoint `hubEndpoint`, hub key written to `dir`), invite
 * and gateway. `peeringEnv` adds settings (e.g. PEERING_WG=true once the hub
 * node is wired in).
 */
export async function startHubStack(env: TestEnv, dir: string, opts: { hubEndpoint: string; peeringEnv?: Record<string, string>; spawnPeering?: (env: Record<string, string>) => ServiceProcess }): Promise<HubStack> {
  const hubKeys = generateKeyPair();
  const keyFile = path.join(dir, "hub.key");
  writeFileSync(keyFile, `${hubKeys.privateKey}\n`, { mode: 0o600 });
  const port = await freePort();
  const gatewayUrl = `http://127.0.0.1:${port}`;
  const base = { ...env.env, LOG_LEVEL: "info" };
  const services: ServiceProcess[] = [];
  const stop = async () => {
    for (const s of services.reverse()) await s.stop().catch(() => undefined);
  };
  try {
    const peeringEnv = { ...base, PEERING_GRPC_ADDR: "127.0.0.1:0", PEERING_HUB_ENDPOINT: opts.hubEndpoint, PEERING_HUB_PRIVATE_KEY_FILE: keyFile, ...opts.peeringEnv };
    const peering = opts.spawnPeering ? opts.spawnPeering(peeringEnv) : spawnService("peering", peeringEnv);
    services.push(peering);
    await peering.ready;
    // Invite and the gateway only meet over NATS: start them side by side.
    const invite = spawnService("invite", { ...base, INVITE_GRPC_ADDR: "127.0.0.1:0", INVITE_HUB_URL: gatewayUrl });
    services.push(invite);
    const gateway = spawnService("gateway", { ...base, GATEWAY_LISTEN: `127.0.0.1:${port}`, GATEWAY_PUBLIC_URL: gatewayUrl });
    services.push(gateway);
    await Promise.all([invite.ready, gateway.ready]);
    const tenant = "acme";
    await cli(base, ["tenant", "create", tenant]);
    const out = await cli(base, ["token", "create", tenant, "e2e-admin", "--role", "admin"]);
    // `token create` prints the token alone, once.
    const adminToken = out.trim();
    const api = async (method: string, p: string, body?: unknown) => {
      const res = await fetch(gatewayUrl + p, {
        method,
        headers: { authorization: `Bearer ${adminToken}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
    };
    return { gatewayUrl, adminToken, tenant, hubKeys, services, api, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * A service's main.ts run as a process inside a namespace (spawnService in
 * `host`'s namespace, killed with it; `name` may also be a `.ts` entry
 * relative to the repo root).
 */
export function spawnServiceIn(host: NsHost, name: string, env: Record<string, string>): ServiceProcess {
  return spawnService(name, env, { netns: host.ns, track: (c) => host.track(c) });
}
