/**
 * `./daalu.sh demo`: the hub plus simulated customer clusters (see demo.ts).
 * Every child's output goes to <data dir>/demo.log; the terminal gets the
 * progress and, once everything is up, where to look and what to run.
 * Ctrl-C stops the edges, the services, NATS and PostgreSQL, then deletes the
 * network namespaces (with their interfaces).
 */
import { createWriteStream, existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { loadConfig } from "./config.js";
import { startDemo, type Demo } from "./demo.js";

const rel = (p: string) => (p.startsWith(process.cwd() + path.sep) ? path.relative(process.cwd(), p) : p);
const say = (line: string) => process.stdout.write(`${line}\n`);

let demo: Demo | undefined;
let stopping = false;
let starting = true;
async function shutdown(signal: string): Promise<void> {
  stopping = true;
  if (starting) {
    say(`demo: ${signal}: stopping once start-up has finished`);
    return;
  }
  say(`demo: ${signal}: stopping the edges, the services, NATS and PostgreSQL, then the network namespaces`);
  await demo?.stop();
  say("demo: stopped");
  process.exit(0);
}
// One Ctrl-C can arrive twice (the terminal's and the one tsx relays): a second within a second is the same one.
let firstSignalAt = 0;
let extra = 0;
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    if (!firstSignalAt) {
      firstSignalAt = Date.now();
      void shutdown(sig);
    } else if (Date.now() - firstSignalAt > 1000 && ++extra === 1) {
      say("demo: stopping already; Ctrl-C once more exits at once (processes and namespaces may be left behind)");
    } else if (extra > 1) {
      process.exit(130);
    }
  });
}

try {
  const cfg = loadConfig(process.env);
  const logFile = path.join(cfg.dataDir, "demo.log");
  mkdirSync(cfg.dataDir, { recursive: true });
  const log = createWriteStream(logFile, { flags: "a" });
  say(`demo: starting the hub and the simulated clusters; every process's output goes to ${rel(logFile)}`);
  demo = await startDemo({
    replicas: cfg.replicas,
    ...(cfg.databaseUrl ? { databaseUrl: cfg.databaseUrl } : {}),
    ...(cfg.natsUrl ? { natsUrl: cfg.natsUrl } : {}),
    prefix: cfg.prefix,
    dataDir: cfg.dataDir,
    gatewayListen: cfg.gatewayListen,
    ...(cfg.publicUrl ? { publicUrl: cfg.publicUrl } : {}),
    tlsListen: cfg.tlsListen,
    baseEnv: process.env,
    output: (name, line) => {
      log.write(`${name.padEnd(18)} | ${line}\n`);
      if (name === "demo") say(`demo: ${line}`);
    },
  });
  starting = false;
  const d = demo;
  const lines = ["", "Daalu demo is up.", `  Web UI and API:  ${d.hub.publicUrl}/`];
  const password = path.join(cfg.dataDir, "admin-password");
  const token = path.join(cfg.dataDir, "admin-token");
  if (existsSync(password)) lines.push(`  Sign in:         tenant "default", user "admin", password in ${rel(password)}`);
  lines.push(`  Admin API token: ${rel(token)}   (curl -H "authorization: Bearer $(cat ${rel(token)})" ${d.hub.publicUrl}/v1/clusters)`);
  if (d.hubOnly) {
    lines.push(`  No simulated clusters: ${d.hubOnly}.`);
  } else {
    lines.push("  Simulated clusters (each an edge in its own network namespace with wireguard-go, and an API-server double):");
    for (const c of d.clusters) lines.push(`    ${c.name.padEnd(10)} ${c.status.padEnd(18)} id ${c.id}`);
    lines.push(`  kubectl through the hub (TLS gateway ${d.tlsUrl}, WireGuard tunnel, edge):`);
    lines.push(`    kubectl --kubeconfig ${rel(d.clusters[0]!.kubeconfig)} get nodes`);
    lines.push(`    (one kubeconfig per cluster in ${rel(cfg.dataDir)}/<name>.kubeconfig; they hold the admin token)`);
    lines.push(`  Network namespaces: ${d.namespaces.join(" ")}`);
  }
  lines.push(`  Logs: ${rel(logFile)}`, "  Ctrl-C stops everything.", "");
  say(lines.join("\n"));
  if (stopping) {
    stopping = false;
    await shutdown("SIGINT");
  }
} catch (err) {
  starting = false;
  process.stderr.write(`demo: start-up failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
