/** The hub's WireGuard node (wired by peering's main when PEERING_WG=on). */
export { HubNode, type HubNodeDeps, type HubNodeStore } from "./hub-node.js";
export * from "./config.js";
export { buildDiagnostics, diagnosticsToJson, type DiagnosticsInput } from "./diagnostics.js";
export { EdgeProber, type ProbeReport } from "./prober.js";
