/**
 * @daalu/netns — throwaway networks of Linux network namespaces joined by veth
 * pairs (a hub and N edges), and the edge agent run inside one: what the e2e
 * tests, the benches and `./daalu.sh demo` build their hub and edge hosts from.
 */
export { HUB_UNDERLAY_IP, Netns, NsHost, ROOT, netnsUnavailableReason } from "./netns.js";
export { EDGE_MAIN, startEdgeRun, WG_PORT } from "./edge.js";
