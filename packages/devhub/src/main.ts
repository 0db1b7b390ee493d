/**
 * The quick start (`./daalu.sh up`): the whole hub on this machine. Embedded
 * PostgreSQL unless DATABASE_URL is set, a child nats-server unless NATS_URL is
 * set, DAALU_REPLICAS replicas of every service. Ctrl-C stops everything.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { loadConfig } from "./config.js";
import { startHub, type Hub } from "./hub.js";

const COLOURS = [36, 33, 35, 32, 34, 31];
const colourOf = new Map<string, number>();
function print(name: string, line: string): void {
  const base = name.replace(/-\d+$/, "");
  if (!colourOf.has(base)) colourOf.set(base, COLOURS[colourOf.size % COLOURS.length]!);
  const tag = process.stdout.isTTY ? `\x1b[${colourOf.get(base)}m${name.padEnd(10)}\x1b[0m` : name.padEnd(10);
  process.stdout.write(`${tag} | ${line}\n`);
}

let hub: Hub | undefined;
let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  print("devhub", `${signal}: stopping services, then NATS and PostgreSQL`);
  await hub?.stop();
  print("devhub", "stopped");
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));

try {
  const cfg = loadConfig(process.env);
  hub = await startHub({
    replicas: cfg.replicas,
    databaseUrl: cfg.databaseUrl,
    natsUrl: cfg.natsUrl,
    prefix: cfg.prefix,
    dataDir: cfg.dataDir,
    gatewayListen: cfg.gatewayListen,
    publicUrl: cfg.publicUrl,
    baseEnv: process.env,
    output: print,
    bootstrapAdmin: true,
  });
  const tokenFile = path.join(cfg.dataDir, "admin-token");
  const lines = ["", `Daalu hub is up: ${cfg.replicas} replica(s) of each service.`, `  UI and API: ${hub.publicUrl}/`, `  OpenAPI:    ${hub.publicUrl}/openapi.json`];
  if (hub.adminToken) {
    await writeFile(tokenFile, `${hub.adminToken}\n`, { mode: 0o600 });
    lines.push(`  Admin API token for tenant "default" (shown once; also saved to ${tokenFile}, mode 0600):`, `    ${hub.adminToken}`);
  } else {
    lines.push(`  Admin API token: created on first start, saved in ${tokenFile}`);
  }
  const passwordFile = path.join(cfg.dataDir, "admin-password");
  if (hub.adminPassword) {
    await writeFile(passwordFile, `${hub.adminPassword}\n`, { mode: 0o600 });
    lines.push(`  Sign in as "admin" of tenant "default" with this password (shown once; also saved to ${passwordFile}, mode 0600):`, `    ${hub.adminPassword}`);
  } else {
    lines.push(`  Sign-in user "admin" of tenant "default": created on first start, its password saved in ${passwordFile}`);
  }
  lines.push("  Ctrl-C stops everything.", "");
  process.stdout.write(`${lines.join("\n")}\n`);
} catch (err) {
  process.stderr.write(`devhub: start-up failed: ${err instanceof Error ? err.message : String(err)}\n`);
  await hub?.stop().catch(() => undefined);
  process.exit(1);
}
