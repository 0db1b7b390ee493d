/**
 * Routes into the tunnel on a host that has routes of its own. Tunnel routes
 * are added, never replaced: a route of the host (its LAN, a VPN, an address
 * of another interface) that a tunnel route would shadow makes the install
 * fail loudly with WG_ROUTE_CONFLICT and leaves the host's route as it was.
 */
import { BlockList, isIP } from "node:net";
import { Code, DaaluError } from "@daalu/runtime";
import { must, run } from "./exec.js";

/**
 * Metric of the `unreachable` guard routes. Far above any route a host or a
 * tunnel installs (metric 0 by default), so a guard never collides with a
 * tunnel route for the same block and always loses to it.
 */
export const GUARD_METRIC = 4_000_000_000;

/** An IPv4 address/prefix, refused unless well-formed. */
export function checkCidr(cidr: string): { ip: string; prefix: number } {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(cidr);
  const fam = m ? isIP(m[1]!) : 0;
  if (!m || !fam || Number(m[2]) > (fam === 4 ? 32 : 128)) {
    throw new DaaluError(Code.InvalidArgument, `${JSON.stringify(cidr)} is not an address/prefix`, { reason: "WG_BAD_CIDR" });
  }
  return { ip: m[1]!, prefix: Number(m[2]) };
}

interface RouteRow {
  dst: string;
  dev?: string;
  type?: string;
  table?: string;
  metric?: number;
}

async function ipv4Routes(): Promise<RouteRow[]> {
  return JSON.parse(await must("ip", ["-4", "-j", "route", "show", "table", "all"])) as RouteRow[];
}

function describe(r: RouteRow): string {
  return [r.type && r.type !== "unicast" ? r.type : "", r.dst, r.dev ? `dev ${r.dev}` : "", r.table && r.table !== "main" ? `table ${r.table}` : ""].filter(Boolean).join(" ");
}

/**
 * Host routes that a tunnel route for `cidr` through `dev` would take traffic
 * from: unicast and local routes through another device whose block lies
 * inside `cidr` (or equals it). Wider routes (the default route, a LAN that
 * contains the tenant pool) are not shadowed as a whole and stay the
 * operator's choice of pool; non-forwarding routes (unreachable, blackhole,
 * the guards) carry no traffic to lose.
 */
export async function conflictingRoutes(cidr: string, dev: string | undefined): Promise<string[]> {
  const want = checkCidr(cidr);
  if (isIP(want.ip) !== 4) return [];
  return conflictsIn(await ipv4Routes(), want, dev);
}

/** conflictingRoutes against a listing already read. */
function conflictsIn(rows: RouteRow[], want: { ip: string; prefix: number }, dev: string | undefined): string[] {
  const block = new BlockList();
  block.addSubnet(want.ip, want.prefix, "ipv4");
  const out: string[] = [];
  for (const r of rows) {
    if (r.dst === "default" || (r.dev !== undefined && r.dev === dev)) continue;
    if (r.type !== undefined && r.type !== "unicast" && r.type !== "local") continue;
    const [ip, p] = r.dst.split("/");
    const prefix = p === undefined ? 32 : Number(p);
    if (prefix >= want.prefix && isIP(ip!) === 4 && block.check(ip!, "ipv4")) out.push(describe(r));
  }
  return out;
}

function conflictError(cidr: string, routes: string[]): DaaluError {
  return new DaaluError(Code.FailedPrecondition, `route ${cidr} not installed: it would shadow the host's route ${routes.join(", ")}`, { reason: "WG_ROUTE_CONFLICT" });
}

/**
 * `ip route add <cidr> dev <dev> [src <src>]` unless a host route conflicts
 * (WG_ROUTE_CONFLICT, nothing changed). A route for `cidr` that already goes
 * through `dev` is ours and is updated in place; one through anything else is
 * never replaced.
 */
export async function addTunnelRoute(cidr: string, dev: string, src: string | undefined): Promise<void> {
  const conflicts = await conflictingRoutes(cidr, dev);
  if (conflicts.length > 0) throw conflictError(cidr, conflicts);
  const tail = ["dev", dev, ...(src ? ["src", src] : [])];
  const r = await run("ip", ["route", "add", cidr, ...tail]);
  if (r.code === 0) return;
  if (!/File exists/i.test(r.stderr)) {
    throw new DaaluError(Code.Internal, `ip route add ${cidr} failed: ${r.stderr.trim()}`, { reason: "WG_COMMAND_FAILED" });
  }
  // Something holds exactly this route key (dst, metric 0): ours from an earlier run, or not.
  const shown = JSON.parse(await must("ip", ["-4", "-j", "route", "show", "exact", cidr])) as RouteRow[];
  const other = shown.filter((x) => !x.metric && x.dev !== dev);
  if (other.length > 0) throw conflictError(cidr, other.map(describe));
  await must("ip", ["route", "replace", cidr, ...tail]);
}

/**
 * addTunnelRoute for many routes with one listing of the host's routes and one
 * `ip -batch`: the conflict checks are the same, made in memory. A route left
 * out for a conflict is returned (by cidr) rather than thrown. Should the batch
 * fail (the host's routes changed in between), every route is retried one by
 * one through addTunnelRoute.
 */
export async function addTunnelRoutes(routes: Array<{ cidr: string; src?: string }>, dev: string): Promise<Map<string, DaaluError>> {
  const rows = await ipv4Routes();
  const conflicts = new Map<string, DaaluError>();
  const lines: string[] = [];
  for (const r of routes) {
    const want = checkCidr(r.cidr);
    if (isIP(want.ip) === 4) {
      const shadowed = conflictsIn(rows, want, dev);
      if (shadowed.length > 0) {
        conflicts.set(r.cidr, conflictError(r.cidr, shadowed));
        continue;
      }
    }
    // What holds exactly this route key (dst, metric 0, main table): ours from an earlier run is updated, anything else is a conflict.
    const key = want.prefix === 32 ? want.ip : r.cidr;
    const holders = rows.filter((x) => x.dst === key && !x.metric && (x.table === undefined || x.table === "main"));
    const other = holders.filter((x) => x.dev !== dev);
    if (other.length > 0) {
      conflicts.set(r.cidr, conflictError(r.cidr, other.map(describe)));
      continue;
    }
    lines.push(`route ${holders.length > 0 ? "replace" : "add"} ${r.cidr} dev ${dev}${r.src ? ` src ${r.src}` : ""}`);
  }
  if (lines.length === 0 || (await run("ip", ["-batch", "-"], `${lines.join("\n")}\n`)).code === 0) return conflicts;
  for (const r of routes) {
    if (conflicts.has(r.cidr)) continue;
    try {
      await addTunnelRoute(r.cidr, dev, r.src);
    } catch (err) {
      if (!(err instanceof DaaluError) || err.reason !== "WG_ROUTE_CONFLICT") throw err;
      conflicts.set(r.cidr, err);
    }
  }
  return conflicts;
}

/**
 * `ip addr replace` of each address on `dev` (an address with the same IP but
 * another prefix is removed first) and the link brought up, in one `ip -batch`.
 */
export async function addAddressesBatch(dev: string, want: Array<{ cidr: string; ip: string; prefix: number }>): Promise<void> {
  const shown = JSON.parse(await must("ip", ["-j", "addr", "show", "dev", dev])) as Array<{ addr_info?: Array<{ local: string; prefixlen: number }> }>;
  const have = shown[0]?.addr_info ?? [];
  const lines: string[] = [];
  for (const w of want) {
    // A widened subnet keeps the hub IP but changes the prefix: drop the old one
    // so the interface does not carry two routes for the same address.
    for (const a of have) if (a.local === w.ip && a.prefixlen !== w.prefix) lines.push(`addr del ${a.local}/${a.prefixlen} dev ${dev}`);
    lines.push(`addr replace ${w.cidr} dev ${dev}`);
  }
  lines.push(`link set dev ${dev} up`);
  await must("ip", ["-batch", "-"], `${lines.join("\n")}\n`);
}

/**
 * Makes `cidr` unreachable in this network namespace unless a more specific
 * route (a tunnel interface's) covers the address. Tunnel addresses then never
 * leak to the underlay's default route when a peer route is missing: the
 * packet fails with EHOSTUNREACH instead of leaving through eth0. The guard
 * sits at GUARD_METRIC, so it only ever replaces an earlier guard of its own;
 * a host route inside `cidr` through anything but the tunnel device `dev`
 * means the pool overlaps a network of the host (WG_ROUTE_CONFLICT).
 */
export async function guardRoute(cidr: string, dev?: string): Promise<void> {
  const conflicts = await conflictingRoutes(cidr, dev);
  if (conflicts.length > 0) {
    throw new DaaluError(Code.FailedPrecondition, `tunnel pool ${cidr} overlaps the host's route ${conflicts.join(", ")}; choose a pool the host does not use`, { reason: "WG_ROUTE_CONFLICT" });
  }
  await must("ip", ["route", "replace", "unreachable", cidr, "metric", String(GUARD_METRIC)]);
}

/** Removes a guard route; a no-op when absent. */
export async function unguardRoute(cidr: string): Promise<void> {
  checkCidr(cidr);
  await run("ip", ["route", "del", "unreachable", cidr, "metric", String(GUARD_METRIC)]);
}
