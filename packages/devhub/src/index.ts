/** @daalu/devhub — the whole hub on one machine (quick start, benchmarks). */
export { startHub, type Hub, type HubOptions } from "./hub.js";
