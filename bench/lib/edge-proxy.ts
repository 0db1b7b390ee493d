/**
 * The edge's gRPC server without WireGuard, for `bench proxy --loopback`: the
 * same server `edge run` binds on its tunnel address (startStatusServer with
 * the Proxy RPC and the hub-only interceptor), here on 127.0.0.1 with
 * 127.0.0.1 standing in for the hub's tunnel address.
 *
 *   BENCH_API_SERVER=https://127.0.0.1:N BENCH_API_CA_FILE=<pem> BENCH_API_TOKEN=<token> \
 *     node --import tsx bench/lib/edge-proxy.ts
 *
 * Logs `{"msg":"ready","port":N}` and serves until SIGTERM.
 */
import { readFileSync } from "node:fs";
import { createLogger } from "@daalu/runtime";
import { startStatusServer } from "@daalu/edge";

const env = process.env;
const server = env["BENCH_API_SERVER"];
const caFile = env["BENCH_API_CA_FILE"];
const token = env["BENCH_API_TOKEN"];
if (!server || !caFile || !token) {
  process.stderr.write("BENCH_API_SERVER, BENCH_API_CA_FILE and BENCH_API_TOKEN are required\n");
  process.exit(2);
}
const logger = createLogger("edge", (env["LOG_LEVEL"] as "info" | undefined) ?? "info");
const edge = await startStatusServer({
  host: "127.0.0.1",
  port: 0,
  hubTunnelIp: "127.0.0.1",
  // Peering runs without its WireGuard node here, so nothing probes the edge.
  impl: { getStatus: async () => ({}) },
  proxy: { apiServer: { server, ca: readFileSync(caFile), token }, ownNamespace: "daalu-edge", logger: logger.child({ component: "proxy" }) },
  logger,
});
logger.info({ port: edge.port }, "ready");
for (const sig of ["SIGTERM", "SIGINT"] as const) process.once(sig, () => void edge.close(2_000).finally(() => process.exit(0)));
