/** The edge agent's `run` inside an edge namespace, as e2e tests, benches and the demo start it. */
import path from "node:path";
import { spawnProcess, type SpawnedProcess, type SpawnOptions } from "@daalu/runtime";
import { ROOT, type NsHost } from "./netns.js";

export const EDGE_MAIN = path.join(ROOT, "edge/src/main.ts");
/** The edge as its image runs it (scripts/build.sh's dist/; spawnProcess gives it COMPILED_NODE_FLAGS). */
export const EDGE_DIST_MAIN = path.join(ROOT, "edge/dist/main.js");
/** The hub's WireGuard port on its underlay address. */
export const WG_PORT = 51820;

/** Starts `edge run` inside `host` (`compiled`: from the production build); ready when it logs "ready" (tunnel configured, EdgeService serving). */
export function startEdgeRun(host: NsHost, env: Record<string, string>, opts: Pick<SpawnOptions, "onLine" | "keepOutput" | "detached"> & { compiled?: boolean } = {}): SpawnedProcess {
  const { compiled, ...spawn } = opts;
  return spawnProcess({ name: `edge run (${host.ns})`, entry: compiled ? EDGE_DIST_MAIN : EDGE_MAIN, args: ["run"], netns: host.ns, track: (c) => host.track(c), env: { LOG_LEVEL: "info", ...env }, ...spawn });
}
