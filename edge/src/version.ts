import { createRequire } from "node:module";

/**
 * The edge agent's version, taken from edge/package.json so there is one place
 * to bump it. Reported by GetStatus (`edge_version`) and logged at start-up.
 */
export const EDGE_VERSION: string = (createRequire(import.meta.url)("../package.json") as { version: string }).version;
