import { connect } from "node:net";
import { DaaluError, Code } from "@daalu/runtime";
import { keyFromHex, keyToHex } from "./keys.js";
import type { PeerConfig, PeerStatus } from "./types.js";

/**
 * The cross-platform WireGuard userspace API (https://www.wireguard.com/xplatform/):
 * `get=1\n\n` / `set=1\n<key=value lines>\n\n` on a unix socket, answered by
 * `...errno=N\n\n`. Keys travel in hex. One connection per operation keeps the
 * protocol state trivial; connecting to a local unix socket costs well under a
 * millisecond, so no `wg` process is forked per call.
 */

/** Default UAPI socket directory of wireguard-go on Linux. */
export const UAPI_SOCKET_DIR = "/var/run/wireguard";

export function uapiSocketPath(name: string, dir = UAPI_SOCKET_DIR): string {
  return `${dir}/${name}.sock`;
}

/** Sends one UAPI request and returns the body lines (without the errno line). */
export function uapiRequest(socketPath: string, request: string, timeoutMs = 10_000): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    const chunks: Buffer[] = [];
    let tail = "";
    let done = false;
    const finish = (err: Error | undefined, lines?: string[]) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(lines!);
    };
    const timer = setTimeout(
      () => finish(new DaaluError(Code.Unavailable, `WireGuard UAPI ${socketPath} did not answer within ${timeoutMs} ms`, { reason: "WG_UAPI_TIMEOUT" })),
      timeoutMs,
    );
    sock.on("connect", () => sock.write(request));
    sock.on("data", (b) => {
      chunks.push(b);
      // The answer ends with "errno=N\n\n"; look only at a rolling tail so a
      // 5,000-peer dump is not rescanned on every chunk.
      tail = (tail + b.subarray(Math.max(0, b.length - 64)).toString("latin1")).slice(-64);
      if (!/(^|\n)errno=-?\d+\n\n$/.test(tail)) return;
      const text = Buffer.concat(chunks).toString();
      const lines = text.slice(0, -2).split("\n");
      const last = lines.pop() ?? "";
      const errno = Number(last.slice("errno=".length));
      if (errno !== 0) {
        finish(new DaaluError(Code.Internal, `WireGuard UAPI request failed with errno=${errno}`, { reason: "WG_UAPI_ERROR" }));
      } else finish(undefined, lines);
    });
    sock.on("error", (err) =>
      finish(new DaaluError(Code.Unavailable, `WireGuard UAPI ${socketPath} unreachable: ${err.message}`, { reason: "WG_UAPI_UNREACHABLE", cause: err })),
    );
    sock.on("end", () => finish(new DaaluError(Code.Unavailable, `WireGuard UAPI ${socketPath} closed the connection early`, { reason: "WG_UAPI_CLOSED" })));
  });
}

/** The `set=1` lines of one peer. `endpoint` must already be a numeric ip:port. */
export function peerSetLines(p: PeerConfig): string[] {
  const lines = [`public_key=${keyToHex(p.publicKey)}`, "replace_allowed_ips=true"];
  if (p.endpoint) lines.push(`endpoint=${p.endpoint}`);
  // Always written so an update can also turn keepalive off (0).
  lines.push(`persistent_keepalive_interval=${p.persistentKeepaliveSeconds ?? 0}`);
  for (const ip of p.allowedIps) lines.push(`allowed_ip=${ip}`);
  return lines;
}

export function setRequest(lines: string[]): string {
  return `set=1\n${lines.map((l) => `${l}\n`).join("")}\n`;
}

/** Parses the body of a `get=1` answer into peer statuses. */
export function parseGet(lines: string[]): { listenPort: number; peers: PeerStatus[] } {
  let listenPort = 0;
  const peers: PeerStatus[] = [];
  let cur: PeerStatus | undefined;
  let hsSec = 0;
  let hsNsec = 0;
  const flush = () => {
    if (cur) cur.lastHandshakeMs = hsSec === 0 && hsNsec === 0 ? 0 : hsSec * 1000 + Math.floor(hsNsec / 1e6);
  };
  for (const line of lines) {
    const eq = line.indexOf("=");
    if (eq < 0) continue;
    const k = line.slice(0, eq);
    const v = line.slice(eq + 1);
    switch (k) {
      case "listen_port":
        listenPort = Number(v);
        break;
      case "public_key":
        flush();
        cur = { publicKey: keyFromHex(v), allowedIps: [], lastHandshakeMs: 0, rxBytes: 0, txBytes: 0, persistentKeepaliveSeconds: 0 };
        hsSec = 0;
        hsNsec = 0;
        peers.push(cur);
        break;
      case "endpoint":
        if (cur) cur.endpoint = v;
        break;
      case "allowed_ip":
        cur?.allowedIps.push(v);
        break;
      case "last_handshake_time_sec":
        hsSec = Number(v);
        break;
      case "last_handshake_time_nsec":
        hsNsec = Number(v);
        break;
      case "rx_bytes":
        if (cur) cur.rxBytes = Number(v);
        break;
      case "tx_bytes":
        if (cur) cur.txBytes = Number(v);
        break;
      case "persistent_keepalive_interval":
        if (cur) cur.persistentKeepaliveSeconds = Number(v);
        break;
      default:
        break;
    }
  }
  flush();
  return { listenPort, peers };
}
