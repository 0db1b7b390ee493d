import { EnvReader } from "@daalu/runtime";
import { DEFAULT_DATA_DIR, DEFAULT_GATEWAY_LISTEN } from "./hub.js";

export const DEFAULT_REPLICAS = 1;

export interface DevhubConfig {
  replicas: number;
  databaseUrl: string | undefined;
  natsUrl: string | undefined;
  prefix: string;
  dataDir: string;
  gatewayListen: string;
  publicUrl: string | undefined;
}

/** The devhub's only reader of the environment; every problem at once. */
export function loadConfig(env: Record<string, string | undefined>): DevhubConfig {
  const r = new EnvReader(env);
  const gatewayListen = r.hostPort("GATEWAY_LISTEN", DEFAULT_GATEWAY_LISTEN);
  const cfg: DevhubConfig = {
    replicas: r.int("DAALU_REPLICAS", DEFAULT_REPLICAS, 1, 32),
    databaseUrl: r.optional("DATABASE_URL"),
    natsUrl: r.optional("NATS_URL"),
    prefix: r.str("DAALU_NATS_PREFIX", ""),
    dataDir: r.str("DAALU_DATA_DIR", DEFAULT_DATA_DIR),
    gatewayListen,
    publicUrl: r.optional("GATEWAY_PUBLIC_URL"),
  };
  if (cfg.databaseUrl) r.url("DATABASE_URL");
  if (cfg.publicUrl) r.url("GATEWAY_PUBLIC_URL");
  r.done();
  return cfg;
}
