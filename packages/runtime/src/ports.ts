import { readFileSync } from "node:fs";
import net from "node:net";

/**
 * A TCP port on 127.0.0.1 that was free a moment ago. The one helper the
 * stack, the devhub and the test NATS server use.
 *
 * Chosen at random BELOW the kernel's ephemeral range (net.ipv4.ip_local_port_range),
 * not with listen(0): a port from listen(0) is an ephemeral port, and between
 * this check and the service's own bind any outgoing connection of any process
 * (to PostgreSQL, NATS, …) may be given it as its local port — CI saw a
 * gateway die with EADDRINUSE that way. Below the range only another caller
 * of this helper could take it, and ports handed out here are not handed out
 * again by this process. Falls back to listen(0) where the range leaves no room.
 */
export async function freePort(): Promise<number> {
  const [lo, hi] = candidateRange();
  if (hi - lo >= 1_000) {
    for (let i = 0; i < 50; i++) {
      const port = lo + Math.floor(Math.random() * (hi - lo + 1));
      if (handedOut.has(port)) continue;
      if ((await listenOnce(port).catch(() => undefined)) === port) return remember(port);
    }
  }
  return remember(await listenOnce(0));
}

const handedOut = new Set<number>();

function remember(port: number): number {
  handedOut.add(port);
  return port;
}

/** [10000, start of the ephemeral range − 1] by default (32767 on Linux's default range). */
export function candidateRange(rangeFile = "/proc/sys/net/ipv4/ip_local_port_range"): [number, number] {
  let start = 32_768;
  try {
    const first = Number(readFileSync(rangeFile, "utf8").trim().split(/\s+/)[0]);
    if (Number.isInteger(first) && first > 0) start = first;
  } catch {
    // Not Linux: assume the common default.
  }
  return [10_000, start - 1];
}

/** Listens on `port` (0: any) on 127.0.0.1 and closes again; resolves with the port it got, rejects with the listen error. */
function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.once("error", reject);
    s.listen(port, "127.0.0.1", () => {
      const addr = s.address();
      const got = typeof addr === "object" && addr ? addr.port : 0;
      s.close(() => resolve(got));
    });
  });
}
