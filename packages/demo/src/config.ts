import path from "node:path";
import { DEFAULT_DATA_DIR, loadConfig as loadHubConfig, type DevhubConfig } from "@daalu/devhub";
import { EnvReader } from "@daalu/runtime";

/** The demo keeps its state apart from `./daalu.sh up`'s. */
export const DEFAULT_DEMO_DATA_DIR = path.join(DEFAULT_DATA_DIR, "demo");
/** The TLS gateway kubectl uses. */
export const DEFAULT_TLS_LISTEN = "127.0.0.1:8443";

export interface DemoConfig extends DevhubConfig {
  tlsListen: string;
}

/** The demo's only reader of the environment: the devhub's settings plus DAALU_DEMO_TLS_LISTEN. */
export function loadConfig(env: Record<string, string | undefined>): DemoConfig {
  const r = new EnvReader(env);
  const tlsListen = r.hostPort("DAALU_DEMO_TLS_LISTEN", DEFAULT_TLS_LISTEN);
  r.done();
  return { ...loadHubConfig({ DAALU_DATA_DIR: DEFAULT_DEMO_DATA_DIR, ...env }), tlsListen };
}
