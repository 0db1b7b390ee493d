import { execFile } from "node:child_process";

/**
 * `ip route replace <cidr> dev <iface>`: the hub's /32 into the tunnel. The
 * WireGuard driver sets addresses but no routes, and the hub's address is
 * usually outside the tenant subnet (peering's hub pool), so the edge adds
 * this one route itself. Idempotent; gone with the interface.
 */
export function replaceRoute(cidr: string, iface: string): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile("ip", ["route", "replace", cidr, "dev", iface], (err, _out, stderr) => (err ? reject(new Error(`ip route replace ${cidr} dev ${iface} failed: ${String(stderr).trim() || err.message}`)) : resolve())),
  );
}
