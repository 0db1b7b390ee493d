/**
 * The production build for benches that run the services as the images do:
 * scripts/build.sh (tsc → each workspace's dist/), once per bench run, so a
 * compiled run never measures a stale dist/.
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { log } from "./bench-cli.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export function buildOnce(): void {
  const t0 = Date.now();
  log("building the services and the edge as the images do (scripts/build.sh)…");
  execFileSync("bash", [path.join(ROOT, "scripts/build.sh")], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
  log(`built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
