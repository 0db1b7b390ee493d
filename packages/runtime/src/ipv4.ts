/**
 * IPv4 address checks in plain string arithmetic (no node:net), so services'
 * domain/ code can validate tunnel addresses and subnets and stay pure.
 */
const OCTET = "(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const IPV4 = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);

/** True for a dotted-quad IPv4 address without leading zeros (the same strings node:net's isIPv4 accepts). */
export function isIPv4(s: string): boolean {
  return IPV4.test(s);
}

function ipv4ToInt(ip: string): number {
  return ip.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
}

/** True when IPv4 `ip` lies in `network`/`prefix` (0..32). False when either address is not IPv4. */
export function ipv4InSubnet(ip: string, network: string, prefix: number): boolean {
  if (!isIPv4(ip) || !isIPv4(network) || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) return false;
  const size = 2 ** (32 - prefix);
  return Math.floor(ipv4ToInt(ip) / size) === Math.floor(ipv4ToInt(network) / size);
}
