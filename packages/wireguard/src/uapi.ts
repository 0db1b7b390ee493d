import { connect } from "node:net";
import { DaaluError, Code } from "@daalu/runtime";
import { keyToHex } from "./keys.js";
import { GetParser } from "./get-parser.js";
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

/**
 * Sends one UAPI request; `onData` sees every chunk of the answer and returns
 * the result once the answer is complete (undefined: more to come).
 */
function exchange<T>(socketPath: string, request: string, timeoutMs: number, onData: (b: Buffer) => T | Error | undefined): Promise<T> {
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    let done = false;
    const finish = (err: Error | undefined, result?: T) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(result!);
    };
    const timer = setTimeout(
      () => finish(new DaaluError(Code.Unavailable, `WireGuard UAPI ${socketPath} did not answer within ${timeoutMs} ms`, { reason: "WG_UAPI_TIMEOUT" })),
      timeoutMs,
    );
    sock.on("connect", () => sock.write(request));
    sock.on("data", (b) => {
      if (done) return;
      let r: T | Error | undefined;
      try {
        r = onData(b);
      } catch (err) {
        r = err instanceof Error ? err : new Error(String(err));
      }
      if (r instanceof Error) finish(r);
      else if (r !== undefined) finish(undefined, r);
    });
    sock.on("error", (err) =>
      finish(new DaaluError(Code.Unavailable, `WireGuard UAPI ${socketPath} unreachable: ${err.message}`, { reason: "WG_UAPI_UNREACHABLE", cause: err })),
    );
    sock.on("end", () => finish(new DaaluError(Code.Unavailable, `WireGuard UAPI ${socketPath} closed the connection early`, { reason: "WG_UAPI_CLOSED" })));
  });
}

function errnoError(errno: number): DaaluError {
  return new DaaluError(Code.Internal, `WireGuard UAPI request failed with errno=${errno}`, { reason: "WG_UAPI_ERROR" });
}

/** Sends one UAPI request and returns the body lines (without the errno line). */
export function uapiRequest(socketPath: string, request: string, timeoutMs = 10_000): Promise<string[]> {
  const chunks: Buffer[] = [];
  let tail = "";
  return exchange<string[]>(socketPath, request, timeoutMs, (b) => {
    chunks.push(b);
    // The answer ends with "errno=N\n\n"; look only at a rolling tail.
    tail = (tail + b.subarray(Math.max(0, b.length - 64)).toString("latin1")).slice(-64);
    if (!/(^|\n)errno=-?\d+\n\n$/.test(tail)) return undefined;
    const lines = Buffer.concat(chunks).toString().slice(0, -2).split("\n");
    const errno = Number((lines.pop() ?? "").slice("errno=".length));
    return errno !== 0 ? errnoError(errno) : lines;
  });
}

/**
 * `get=1`, parsed while it streams in (GetParser): at 10,000 peers the answer
 * is ~3 MB, and neither it nor its ~100,000 lines ever exist as strings.
 */
export function uapiGet(socketPath: string, timeoutMs = 30_000): Promise<{ listenPort: number; peers: PeerStatus[] }> {
  const parser = new GetParser();
  return exchange<{ listenPort: number; peers: PeerStatus[] }>(socketPath, "get=1\n\n", timeoutMs, (b) => {
    if (!parser.push(b)) return undefined;
    const errno = parser.errno ?? 0;
    return errno !== 0 ? errnoError(errno) : { listenPort: parser.listenPort, peers: parser.peers };
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

/** Parses the body of a `get=1` answer (lines without the errno line) into peer statuses. */
export function parseGet(lines: string[]): { listenPort: number; peers: PeerStatus[] } {
  const p = new GetParser();
  p.push(Buffer.from(`${lines.map((l) => `${l}\n`).join("")}errno=0\n\n`));
  return { listenPort: p.listenPort, peers: p.peers };
}
