import { isIPv4 } from "@daalu/runtime/pure";

/**
 * The host part of a gRPC peer string as grpc-js reports it from
 * `call.getPeer()`: "1.2.3.4:5678", "ipv4:1.2.3.4:5678", "[::1]:5678",
 * "ipv6:[::ffff:1.2.3.4]:5678" or "unix:/path". IPv4-mapped IPv6 addresses are
 * unwrapped so a dual-stack socket does not hide the hub's IPv4 address.
 * Returns undefined when there is no IP (unix sockets, garbage).
 */
export function peerHost(peer: string): string | undefined {
  let p = peer.trim();
  if (p.startsWith("unix:")) return undefined;
  p = p.replace(/^ipv[46]:/, "");
  let host: string;
  const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(p);
  if (bracket) host = bracket[1]!;
  else {
    const m = /^([^:]+)(?::\d+)?$/.exec(p);
    if (!m) return undefined;
    host = m[1]!;
  }
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  if (mapped) host = mapped[1]!;
  return host;
}

/** True only when the peer's address is exactly `allowedIp` (the hub's tunnel address). */
export function isAllowedPeer(peer: string, allowedIp: string): boolean {
  const host = peerHost(peer);
  if (host === undefined) return false;
  if (isIPv4(allowedIp)) return host === allowedIp;
  return host.toLowerCase() === allowedIp.toLowerCase();
}
