/** @daalu/devhub — the whole hub on one machine (quick start, benchmarks). */
export { DEFAULT_DATA_DIR, startHub, type Hub, type HubOptions, type LineSink } from "./hub.js";
export { loadConfig, type DevhubConfig } from "./config.js";
