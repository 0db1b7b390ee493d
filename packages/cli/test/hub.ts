import { startStack, type HubService, type ServiceEnv, type Stack } from "@daalu/stack";
import type { TestEnv } from "@daalu/testing";

/** These hub services in this process on the test's database and prefix, with tenant acme (admin and viewer tokens). */
export function startHub(env: TestEnv, services: HubService[], serviceEnv: Partial<Record<HubService, ServiceEnv>> = {}): Promise<Stack> {
  return startStack({ databaseUrl: env.databaseUrl, natsUrl: env.natsUrl, prefix: env.prefix, env: { ...env.env, LOG_LEVEL: "silent" }, services, inProcess: services, serviceEnv, tenant: { id: "acme", viewer: true } });
}
