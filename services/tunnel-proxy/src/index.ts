/**
 * @daalu/tunnel-proxy — public API: proxyCall (what the gateway uses to call
 * through a tunnel), the chunked stream protocol, and the in-process start.
 */
export { proxyCall, type ProxyAnswer, type ProxyCallOptions } from "./client.js";
export { queryClient, serveQueries, type QueryClient } from "./queries.js";
export * from "./stream-protocol.js";
export * from "./stream-requester.js";
export * from "./stream-responder.js";
export { start, type RunningTunnelProxy } from "./service.js";
export { loadConfig, type TunnelProxyConfig } from "./config.js";
export { sessionCall, type SessionAnswer, type SessionCallOptions } from "./session-client.js";
export { type DuplexChannel } from "./stream-duplex-channel.js";
export { isNormalSessionEnd } from "./domain/session.js";
export { ErrorChannelReader } from "./domain/exit-status.js";
