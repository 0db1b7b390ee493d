/**
 * @daalu/netns — throwaway networks of Linux network namespaces joined by veth
 * pairs (K hub nodes and N edges on one bridge), and the edge agent run inside one: what the e2e
 * tests, the benches and `./daalu.sh demo` build their hub and edge hosts from.
 */
export { HUB_UNDERLAY_IP, hubUnderlayIp, Netns, NsHost, ROOT, netnsUnavailableReason } from "./netns.js";
export { EDGE_DIST_MAIN, EDGE_MAIN, startEdgeRun, WG_PORT } from "./edge.js";
