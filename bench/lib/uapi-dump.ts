/**
 * A `get=1` answer as wireguard-go v0.0.20220316 writes it (synthDump), and a plain line-split parser of one
 * (referenceParse): the obviously right reading that GetParser's byte-level one is checked against.
 */
import { randomBytes } from "node:crypto";
import type { PeerStatus } from "@daalu/wireguard";

/** N peers: no endpoint or handshake for most, as on a hub whose edges are not up, some with them and two allowed IPs. */
export function synthDump(n: number): Buffer {
  const out: string[] = [`private_key=${randomBytes(32).toString("hex")}`, "listen_port=51820"];
  for (let i = 0; i < n; i++) {
    out.push(`public_key=${randomBytes(32).toString("hex")}`, `preshared_key=${"0".repeat(64)}`, "protocol_version=1");
    const live = i % 7 === 0;
    if (live) out.push(i % 14 === 0 ? `endpoint=[2001:db8::${i.toString(16)}]:51820` : `endpoint=192.0.2.${i & 255}:${40000 + (i % 20000)}`);
    out.push(
      `last_handshake_time_sec=${live ? 1_764_000_000 + i : 0}`,
      `last_handshake_time_nsec=${live ? (i * 7919) % 1e9 : 0}`,
      `tx_bytes=${live ? i * 1013 : 0}`,
      `rx_bytes=${live ? i * 997 : 0}`,
      `persistent_keepalive_interval=${live ? 25 : 0}`,
      `allowed_ip=10.${200 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`,
    );
    if (i % 5 === 0) out.push(`allowed_ip=fd00::${i.toString(16)}/128`);
  }
  return Buffer.from(`${out.map((l) => `${l}\n`).join("")}errno=0\n\n`, "latin1");
}

/** Splits the answer into lines and keys; the reference for GetParser. */
export function referenceParse(text: string): { listenPort: number; peers: PeerStatus[]; errno: number } {
  let listenPort = 0;
  let errno = -1;
  const peers: PeerStatus[] = [];
  let cur: PeerStatus | undefined;
  let sec = 0;
  let nsec = 0;
  const flush = () => {
    if (cur) cur.lastHandshakeMs = sec === 0 && nsec === 0 ? 0 : sec * 1000 + Math.floor(nsec / 1e6);
  };
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (eq < 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === "public_key") {
      flush();
      sec = 0;
      nsec = 0;
      cur = { publicKey: Buffer.from(value, "hex").toString("base64"), allowedIps: [], lastHandshakeMs: 0, rxBytes: 0, txBytes: 0, persistentKeepaliveSeconds: 0 };
      peers.push(cur);
    } else if (key === "listen_port") listenPort = Number(value);
    else if (key === "errno") errno = Number(value);
    else if (key === "last_handshake_time_sec") sec = Number(value);
    else if (key === "last_handshake_time_nsec") nsec = Number(value);
    else if (!cur) continue;
    else if (key === "allowed_ip") cur.allowedIps.push(value);
    else if (key === "endpoint") cur.endpoint = value;
    else if (key === "rx_bytes") cur.rxBytes = Number(value);
    else if (key === "tx_bytes") cur.txBytes = Number(value);
    else if (key === "persistent_keepalive_interval") cur.persistentKeepaliveSeconds = Number(value);
  }
  flush();
  return { listenPort, peers, errno };
}
