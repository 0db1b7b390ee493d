/** The e2e tests' network namespaces: @daalu/netns (shared with the benches and `./daalu.sh demo`). */
export { HUB_UNDERLAY_IP, hubUnderlayIp, Netns, NsHost, ROOT, netnsUnavailableReason as e2eSkipReason } from "@daalu/netns";
