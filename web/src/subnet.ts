/**
 * Widening a tenant's tunnel subnet: the supernets an admin may choose (the
 * same network, shorter prefix, never below /16 — the hub's rule), each with
 * the number of cluster addresses it holds (network and broadcast excluded).
 * Every cluster keeps its address; the hub refuses moves and shrinks.
 */
export const MIN_PREFIX = 16;

export interface SubnetChoice {
  cidr: string;
  capacity: number;
}

function parse(cidr: string): { ip: number; prefix: number } | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m) return null;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return null;
  return { ip: octets.reduce((acc, o) => acc * 256 + o, 0), prefix };
}

function format(ip: number, prefix: number): string {
  return `${[24, 16, 8, 0].map((s) => Math.floor(ip / 2 ** s) % 256).join(".")}/${prefix}`;
}

export function capacityOf(prefix: number): number {
  return 2 ** (32 - prefix) - 2;
}

/** The supernets of `cidr` from one bit wider down to /16, widest last; [] for a subnet already /16 or unparseable. */
export function widerSubnets(cidr: string): SubnetChoice[] {
  const p = parse(cidr);
  if (!p) return [];
  const out: SubnetChoice[] = [];
  for (let prefix = p.prefix - 1; prefix >= MIN_PREFIX; prefix--) {
    const size = 2 ** (32 - prefix);
    out.push({ cidr: format(Math.floor(p.ip / size) * size, prefix), capacity: capacityOf(prefix) });
  }
  return out;
}
