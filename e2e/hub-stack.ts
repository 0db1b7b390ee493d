/**
 * The real hub services for e2e tests, as separate processes (startStack with
 * the test's isolated database and subject prefix): by default peering,
 * invite and the gateway, with a fresh hub WireGuard key in the test's
 * directory and tenant `acme` with an admin API token.
 */
import { spawnService, type ServiceProcess, type TestEnv } from "@daalu/testing";
import { startStack, type HubNode, type HubService, type Namespace, type ServiceEnv, type Stack, type StackOptions } from "@daalu/stack";
import type { KeyPair } from "@daalu/wireguard";
import type { NsHost } from "./netns.js";

export { freePort } from "@daalu/runtime";

export interface HubStackOptions {
  /** PEERING_HUB_ENDPOINT: where edges reach the hub's WireGuard port. */
  hubEndpoint: string;
  /** Extra settings of peering (e.g. the hub WireGuard node's). */
  peeringEnv?: Record<string, string>;
  /** Run peering (and its hub WireGuard node) inside this namespace. */
  peeringIn?: NsHost;
  /** Which services (default peering, invite, gateway). */
  services?: HubService[];
  serviceEnv?: Partial<Record<HubService, ServiceEnv>>;
  netns?: Partial<Record<HubService, Namespace>>;
  /** Several hub nodes (peering + tunnel-proxy per node, StackOptions.hubNodes) and their WireGuard settings. */
  hubNodes?: HubNode[];
  wireguard?: StackOptions["wireguard"];
}

/** What an e2e stack always has: the hub key, the tenant and its admin token. */
export type HubStack = Stack & { hubKeys: KeyPair; tenant: string; adminToken: string };

export async function startHubStack(env: TestEnv, dir: string, opts: HubStackOptions): Promise<HubStack> {
  const s = await startStack({
    databaseUrl: env.databaseUrl,
    natsUrl: env.natsUrl,
    prefix: env.prefix,
    env: { ...env.env, LOG_LEVEL: "info" },
    services: opts.services ?? ["peering", "invite", "gateway"],
    hubEndpoint: opts.hubEndpoint,
    hubKeyDir: dir,
    serviceEnv: { ...(opts.peeringEnv ? { peering: opts.peeringEnv } : {}), ...opts.serviceEnv },
    netns: { ...(opts.peeringIn ? { peering: opts.peeringIn } : {}), ...opts.netns },
    tenant: { id: "acme" },
    ...(opts.hubNodes ? { hubNodes: opts.hubNodes } : {}),
    ...(opts.wireguard ? { wireguard: opts.wireguard } : {}),
  });
  const { hubKeys, tenant, adminToken } = s;
  if (!hubKeys || !tenant || !adminToken) throw new Error("startStack made no hub key or admin token");
  return Object.assign(s, { hubKeys, tenant, adminToken });
}

/**
 * A service's main.ts run as a process inside a namespace (spawnService in
 * `host`'s namespace, killed with it; `name` may also be a `.ts` entry
 * relative to the repo root).
 */
export function spawnServiceIn(host: NsHost, name: string, env: Record<string, string>): ServiceProcess {
  return spawnService(name, env, { netns: host.ns, track: (c) => host.track(c) });
}
