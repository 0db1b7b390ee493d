/**
 * IPv4 address math for tenant tunnel subnets. Pure: addresses are unsigned
 * 32-bit integers held in JS numbers (always exact below 2^53).
 */

/** A parsed, aligned IPv4 CIDR block. */
export interface Ipv4Cidr {
  /** Network address as an unsigned 32-bit integer. */
  readonly network: number;
  /** Prefix length, 0..32. */
  readonly prefix: number;
}

/** Why a CIDR text was refused; `message` is safe to show to callers. */
export class CidrParseError extends Error {
  override name = "CidrParseError";
}

const OCTET = /^(0|[1-9][0-9]{0,2})$/;

/** Parses dotted-quad IPv4 text, or returns undefined. Leading zeros are refused (they read as octal elsewhere). */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!OCTET.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** Number of addresses in a block of this prefix. */
export function blockSize(prefix: number): number {
  return 2 ** (32 - prefix);
}

/**
 * Parses "a.b.c.d/n", strictly: no surrounding whitespace or newline, no
 * leading zeros, prefix 0..32, and the address must be the block's network
 * address (10.100.0.0/24, not 10.100.0.7/24): a misaligned block is a typo
 * more often than not, so it is refused with the aligned form suggested. Text
 * that reaches routing commands is never tidied up, only accepted or refused.
 */
export function parseCidr(text: string): Ipv4Cidr {
  const t = text;
  const slash = t.indexOf("/");
  if (slash < 0) throw new CidrParseError(`"${text}" is not an IPv4 CIDR (expected a.b.c.d/n, e.g. 10.100.0.0/24)`);
  const ip = parseIpv4(t.slice(0, slash));
  const ptext = t.slice(slash + 1);
  if (ip === undefined) throw new CidrParseError(`"${text}" is not an IPv4 CIDR: "${t.slice(0, slash)}" is not an IPv4 address`);
  if (!/^(0|[1-9][0-9]?)$/.test(ptext) || Number(ptext) > 32) throw new CidrParseError(`"${text}" is not an IPv4 CIDR: prefix length must be 0..32`);
  const prefix = Number(ptext);
  const network = networkOf(ip, prefix);
  if (network !== ip) {
    throw new CidrParseError(`"${text}" is not aligned: the network address of a /${prefix} containing ${formatIpv4(ip)} is ${formatIpv4(network)} (use ${formatIpv4(network)}/${prefix})`);
  }
  return { network, prefix };
}

export function formatCidr(c: Ipv4Cidr): string {
  return `${formatIpv4(c.network)}/${c.prefix}`;
}

/** The network address of the /prefix block holding `ip`. */
export function networkOf(ip: number, prefix: number): number {
  const size = blockSize(prefix);
  return ip - (ip % size);
}

export function broadcastOf(c: Ipv4Cidr): number {
  return c.network + blockSize(c.prefix) - 1;
}

/** First and last usable host address (network and broadcast excluded). Undefined for /31 and /32. */
export function hostRange(c: Ipv4Cidr): { first: number; last: number } | undefined {
  if (c.prefix > 30) return undefined;
  return { first: c.network + 1, last: broadcastOf(c) - 1 };
}

export function containsIp(c: Ipv4Cidr, ip: number): boolean {
  return ip >= c.network && ip <= broadcastOf(c);
}

/** True when `outer` covers every address of `inner` (equal blocks included). */
export function containsCidr(outer: Ipv4Cidr, inner: Ipv4Cidr): boolean {
  return outer.prefix <= inner.prefix && networkOf(inner.network, outer.prefix) === outer.network;
}

export function overlaps(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  return containsCidr(a, b) || containsCidr(b, a);
}

/**
 * Addresses clusters can get: hosts (network and broadcast excluded) minus the
 * hub's address when the hub sits inside the block. New tenants get their hub
 * address from a separate hub pool, so a /24 holds 254 clusters; only subnets
 * created before that change (hub = first host) hold 253.
 */
export function clusterCapacity(c: Ipv4Cidr, hubIp: number): number {
  const r = hostRange(c);
  if (!r) return 0;
  const hosts = r.last - r.first + 1;
  return hubIp >= r.first && hubIp <= r.last ? hosts - 1 : hosts;
}

/** Allowed prefix lengths for a tenant subnet: at least 5 clusters, at most one /16. */
export const MIN_TENANT_PREFIX = 16;
export const MAX_TENANT_PREFIX = 29;

/** Parses and checks a tenant subnet (aligned IPv4 CIDR, /16../29). */
export function parseTenantSubnet(text: string): Ipv4Cidr {
  const c = parseCidr(text);
  if (c.prefix < MIN_TENANT_PREFIX || c.prefix > MAX_TENANT_PREFIX) {
    throw new CidrParseError(`"${text}" has prefix /${c.prefix}; a tenant subnet must be between /${MIN_TENANT_PREFIX} and /${MAX_TENANT_PREFIX}`);
  }
  return c;
}

/** How a requested subnet relates to the tenant's current one. */
export type SubnetChange = "same" | "widen" | "not-supernet";

/**
 * Widening keeps every existing address, so the new block must contain the
 * old one; anything else (shrinking, moving) would renumber clusters.
 */
export function classifySubnetChange(current: Ipv4Cidr, requested: Ipv4Cidr): SubnetChange {
  if (current.network === requested.network && current.prefix === requested.prefix) return "same";
  return containsCidr(requested, current) ? "widen" : "not-supernet";
}

/**
 * The "room to grow" block around a subnet of `prefix`: the aligned block
 * `growthBits` shorter. New tenants are placed so that this block is free of
 * other tenants, letting them widen later without collisions.
 */
export function growthPrefix(prefix: number, growthBits: number, minPrefix = MIN_TENANT_PREFIX): number {
  return Math.max(minPrefix, Math.min(prefix, prefix - growthBits));
}
