/**
 * @daalu/tunnel-proxy — public API: the chunked stream protocol (the gateway
 * is its requester) and the proxy call helpers the gateway uses.
 */
export * from "./stream.js";
