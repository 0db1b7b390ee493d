/**
 * The two ways to configure a WireGuard device: the UAPI socket of
 * wireguard-go, and `wg` (netlink) for the kernel module. Inputs are already
 * validated and normalized by device.ts.
 */
import { must } from "./exec.js";
import { keyToHex } from "./keys.js";
import type { PeerConfig, PeerStatus } from "./types.js";
import { peerSetLines, setRequest, uapiGet, uapiRequest } from "./uapi.js";

/** Per-backend primitives; the device wraps them with validation and serialization. */
export interface Backend {
  configure(privateKey: string, listenPort: number | undefined, peers: PeerConfig[], replacePeers: boolean): Promise<void>;
  /** `set` added or updated (allowed IPs replaced), `remove` dropped (unknown keys are a no-op), in as few calls as the backend allows. */
  setPeers(set: PeerConfig[], remove: string[]): Promise<void>;
  peers(): Promise<PeerStatus[]>;
}

function removeLines(publicKey: string): string[] {
  // update_only would reject unknown peers; remove on an unknown key creates
  // and drops it in one go, which is the no-op we want.
  return [`public_key=${keyToHex(publicKey)}`, "remove=true"];
}

export class UapiBackend implements Backend {
  constructor(private readonly socket: string) {}
  async configure(privateKey: string, listenPort: number | undefined, peers: PeerConfig[], replacePeers: boolean) {
    const lines = [`private_key=${keyToHex(privateKey)}`];
    if (listenPort !== undefined) lines.push(`listen_port=${listenPort}`);
    if (replacePeers) lines.push("replace_peers=true");
    for (const p of peers) for (const l of peerSetLines(p)) lines.push(l);
    await uapiRequest(this.socket, setRequest(lines), 60_000);
  }
  /** One UAPI transaction, however many peers. */
  async setPeers(set: PeerConfig[], remove: string[]) {
    const lines: string[] = [];
    for (const k of remove) for (const l of removeLines(k)) lines.push(l);
    for (const p of set) for (const l of peerSetLines(p)) lines.push(l);
    if (lines.length > 0) await uapiRequest(this.socket, setRequest(lines), lines.length > 1000 ? 60_000 : 10_000);
  }
  async peers() {
    return (await uapiGet(this.socket)).peers;
  }
}

/** Peers per `wg set` call: well inside ARG_MAX (~90 bytes of argv per peer). */
const WG_SET_CHUNK = 1000;

/** The kernel module has no UAPI socket; `wg` talks netlink for us. */
export class WgToolBackend implements Backend {
  constructor(private readonly name: string) {}
  private peerArgs(p: PeerConfig): string[] {
    const a = ["peer", p.publicKey, "allowed-ips", p.allowedIps.join(","), "persistent-keepalive", String(p.persistentKeepaliveSeconds || "off")];
    if (p.endpoint) a.push("endpoint", p.endpoint);
    return a;
  }
  async configure(privateKey: string, listenPort: number | undefined, peers: PeerConfig[], replacePeers: boolean) {
    const args = ["set", this.name, "private-key", "/dev/stdin"];
    if (listenPort !== undefined) args.push("listen-port", String(listenPort));
    // The private key goes through stdin, never argv.
    await must("wg", args, `${privateKey}\n`);
    const remove: string[] = [];
    if (replacePeers) {
      const keep = new Set(peers.map((p) => p.publicKey));
      for (const cur of await this.peers()) if (!keep.has(cur.publicKey)) remove.push(cur.publicKey);
    }
    await this.setPeers(peers, remove);
  }
  async setPeers(set: PeerConfig[], remove: string[]) {
    const ops: string[][] = [...remove.map((k) => ["peer", k, "remove"]), ...set.map((p) => this.peerArgs(p))];
    for (let i = 0; i < ops.length; i += WG_SET_CHUNK) await must("wg", ["set", this.name, ...ops.slice(i, i + WG_SET_CHUNK).flat()]);
  }
  async peers() {
    const out = await must("wg", ["show", this.name, "dump"]);
    const rows = out.trim().split("\n").slice(1);
    return rows
      .filter((r) => r.length > 0)
      .map((r) => {
        const [publicKey, , endpoint, allowed, hs, rx, tx, ka] = r.split("\t");
        const s: PeerStatus = {
          publicKey: publicKey!,
          allowedIps: !allowed || allowed === "(none)" ? [] : allowed.split(","),
          lastHandshakeMs: Number(hs ?? 0) * 1000,
          rxBytes: Number(rx ?? 0),
          txBytes: Number(tx ?? 0),
          persistentKeepaliveSeconds: ka === "off" || !ka ? 0 : Number(ka),
        };
        if (endpoint && endpoint !== "(none)") s.endpoint = endpoint;
        return s;
      });
  }
}
