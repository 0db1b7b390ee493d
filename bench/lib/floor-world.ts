/**
 * The floor's stand-ins (bench proxy-floor) in a ProxyWorld: compiled once
 * with esbuild (the one tsx ships; bundled, packages left to node_modules)
 * into .bench/floor/, run with plain node (no tsx loader), the workspaces'
 * dist/ for @daalu/runtime (only its NATS connection with write coalescing,
 * its logger and its grpc-js). floor-edge in the edge's place on its tunnel
 * address (127.0.0.1 on loopback), the others in the hub's, next to the
 * product's services and on the same nats-server.
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Pool } from "undici";
import { log } from "./bench-cli.js";
import { connector, readyFields } from "./places.js";
import type { ProxyWorld } from "./proxy-world.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const OUT = ".bench/floor";
const STAND_INS = ["floor-gateway", "floor-proxy", "floor-edge", "floor-audit"] as const;

/** esbuild, once per bench run: bench/lib/floor-*.ts -> .bench/floor/*.js (inside the repo, so node_modules resolves). */
export function compileFloor(): void {
  const t0 = Date.now();
  execFileSync(path.join(ROOT, "node_modules/.bin/esbuild"), [...STAND_INS.map((s) => `bench/lib/${s}.ts`), "--bundle", "--packages=external", "--format=esm", "--platform=node", "--target=node20", `--outdir=${OUT}`, "--log-level=warning"], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "inherit"],
  });
  log(`floor stand-ins compiled (esbuild) into ${OUT}/ in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

/** Starts the stand-ins (edge, proxy, audit, gateway) and returns a Pool to the floor's gateway as the bench's other Pools are made. */
export async function startFloor(world: ProxyWorld, connections: number): Promise<{ gateway: Pool; topology: string[] }> {
  // Plain node, and the workspaces' compiled entries (--conditions=daalu-dist) for @daalu/runtime; NODE_OPTIONS replaced, not inherited.
  const base = { NODE_OPTIONS: "--conditions=daalu-dist", FLOOR_NATS_URL: world.natsUrl };
  const start = async (where: "hub" | "edge", name: (typeof STAND_INS)[number], env: Record<string, string>) => {
    const p = world.service(world[where], name, `${OUT}/${name}.js`, { ...base, ...env });
    return readyFields(p);
  };
  const host = world.edgeTunnelIp ?? "127.0.0.1";
  const edgePort = Number((await start("edge", "floor-edge", { FLOOR_HOST: host, FLOOR_API_SERVER: world.kube.url, FLOOR_API_CA_FILE: world.kube.caFile, FLOOR_API_TOKEN: world.kube.token }))["port"]);
  await start("hub", "floor-proxy", { FLOOR_EDGE_ADDR: `${host}:${edgePort}` });
  await start("hub", "floor-audit", { FLOOR_DATABASE_URL: world.databaseUrl });
  const gwPort = Number((await start("hub", "floor-gateway", { FLOOR_CERT_FILE: world.gatewayTls.certFile, FLOOR_KEY_FILE: world.gatewayTls.keyFile }))["port"]);
  const gateway = new Pool("https://127.0.0.1", { connections, connect: connector(world.hub, gwPort, world.gatewayCa) });
  return {
    gateway,
    topology: [
      `floor (stand-ins, plain node, compiled by esbuild; same nats-server, same WireGuard, same API server):`,
      `  ${world.hub.where}: floor-gateway (node:https :${gwPort}, same certificate) -NATS request-> floor-proxy -grpc-js bidi-> ${host}:${edgePort}; floor-proxy -JetStream PubAck-> reply; floor-audit (pull consumer -> PostgreSQL)`,
      `  ${world.edge.where}: floor-edge (grpc-js on ${host}:${edgePort}) -undici TLS-> API server ${world.kube.url}`,
    ],
  };
}
