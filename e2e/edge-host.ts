/**
 * Pieces the edge e2e tests share: a plain WireGuard hub peer made with
 * wireguard-go + wg + ip (used until the hub node runs in the hub namespace),
 * probes from inside a namespace, and (from @daalu/netns) the edge agent's
 * `run` inside an edge namespace.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import type { TunnelConfig } from "@daalu/edge";
import { WG_PORT } from "@daalu/netns";
import { ROOT, type Netns, type NsHost } from "./netns.js";

export { EDGE_DIST_MAIN, EDGE_MAIN, startEdgeRun, WG_PORT } from "@daalu/netns";

/** A hub-side WireGuard interface in the hub namespace, configured by hand. */
export async function startPlainHubPeer(net: Netns, privateKey: string, hubTunnelIp: string): Promise<{ iface: string; addPeer(publicKey: string, tunnelIp: string): Promise<void>; handshakeAgeS(publicKey: string): Promise<number | undefined> }> {
  const iface = net.ifname("dh");
  const keyFile = path.join(net.dir, "hub-peer.key");
  writeFileSync(keyFile, `${privateKey}\n`, { mode: 0o600 });
  const wg = net.hub.spawn("wireguard-go", ["-f", iface], { WG_PROCESS_FOREGROUND: "1", LOG_LEVEL: "error" });
  wg.stdout!.resume();
  wg.stderr!.resume();
  const deadline = Date.now() + 5_000;
  for (;;) {
    try {
      await net.hub.exec("wg", ["show", iface]);
      break;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  await net.hub.exec("wg", ["set", iface, "private-key", keyFile, "listen-port", String(WG_PORT)]);
  await net.hub.exec("ip", ["addr", "add", `${hubTunnelIp}/32`, "dev", iface]);
  await net.hub.exec("ip", ["link", "set", iface, "up"]);
  return {
    iface,
    async addPeer(publicKey, tunnelIp) {
      await net.hub.exec("wg", ["set", iface, "peer", publicKey, "allowed-ips", `${tunnelIp}/32`]);
      await net.hub.exec("ip", ["route", "replace", `${tunnelIp}/32`, "dev", iface]);
    },
    async handshakeAgeS(publicKey) {
      const out = await net.hub.exec("wg", ["show", iface, "latest-handshakes"]);
      const line = out.split("\n").find((l) => l.startsWith(publicKey));
      const t = Number(line?.split("\t")[1] ?? 0);
      return t > 0 ? Math.floor(Date.now() / 1000) - t : undefined;
    },
  };
}

/** GET /readyz from inside the edge's namespace: [status, body]. */
export async function readyz(host: NsHost, port = 8081): Promise<{ status: number; body: { ready: boolean; reason: string } }> {
  const out = await host.exec(process.execPath, ["-e", `fetch("http://127.0.0.1:${port}/readyz").then(async r=>process.stdout.write(JSON.stringify({status:r.status,body:await r.json()})))`]);
  return JSON.parse(out) as { status: number; body: { ready: boolean; reason: string } };
}

/** EdgeService.GetStatus from inside `from` (so the call's source is that namespace's address). */
export async function getStatusFrom(from: NsHost, c: Pick<TunnelConfig, "tunnelIp">, port = 7443): Promise<{ ok: boolean; code?: string; message?: string; status?: Record<string, unknown> }> {
  const out = await from.exec(process.execPath, ["--import", "tsx", path.join(ROOT, "e2e/status-client.ts"), `${c.tunnelIp}:${port}`]);
  return JSON.parse(out.trim().split("\n").pop()!) as { ok: boolean };
}
