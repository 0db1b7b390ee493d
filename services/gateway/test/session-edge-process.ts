/**
 * The edge's gRPC server (Proxy + Session, startStatusServer as `edge run`
 * binds it, without WireGuard) as its own process, so a test can SIGKILL it
 * mid-session and start it again on the same port (the tunnel-proxy's
 * TUNNEL_PROXY_EDGE_ADDR_OVERRIDE names that port). Run as a script it reads
 *   SESSION_EDGE_PORT, SESSION_EDGE_API_SERVER, SESSION_EDGE_CA_FILE, SESSION_EDGE_TOKEN
 * and logs `{"msg":"ready","port":N}`; imported, it only names its entry.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createLogger } from "@daalu/runtime";
import { startStatusServer } from "@daalu/edge";

/** This file, for spawnService. */
export const SESSION_EDGE_ENTRY = fileURLToPath(import.meta.url);

async function main(env: NodeJS.ProcessEnv): Promise<void> {
  const logger = createLogger("edge", env["LOG_LEVEL"] ?? "info");
  const edge = await startStatusServer({
    host: "127.0.0.1",
    port: Number(env["SESSION_EDGE_PORT"]),
    hubTunnelIp: "127.0.0.1",
    impl: { getStatus: async () => ({}) },
    proxy: { apiServer: { server: env["SESSION_EDGE_API_SERVER"]!, ca: readFileSync(env["SESSION_EDGE_CA_FILE"]!), token: env["SESSION_EDGE_TOKEN"]! }, ownNamespace: "daalu-edge", logger: logger.child({ component: "proxy" }) },
    logger,
  });
  logger.info({ port: edge.port }, "ready");
  process.once("SIGTERM", () => void edge.close(1_000).finally(() => process.exit(0)));
}

if (process.argv[1] === SESSION_EDGE_ENTRY) await main(process.env);
