/**
 * SPDY/3.1 for exec, attach and port-forward, through the Go translator in
 * packages/kube-double/spdy (built by scripts/ensure-go-spdy.sh). Node has no
 * maintained implementation of Kubernetes' SPDY streams; the translator uses
 * moby/spdystream, the one k8s.io/apimachinery uses, and turns each session
 * into a WebSocket to this double's own exec/attach/portforward endpoint.
 *
 * The translator runs once per process, started on the first SPDY request on
 * a loopback port. For an authorized SPDY upgrade the double connects to it,
 * writes the client's request head again (adding X-Kube-Double-Upstream, the
 * address the client reached) and then pipes the raw socket both ways. The
 * translator's own WebSocket requests carry X-Kube-Double-Bridge, a random
 * secret it got on standard input: the double then authorizes them with the
 * verb of the original request (SPDY upgrades are POSTs: `create` only).
 */
import { spawn } from "node:child_process";
import { randomBytes, timingSafeEqual } from "node:crypto";
import { existsSync } from "node:fs";
import type http from "node:http";
import net from "node:net";
import { createInterface } from "node:readline";
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import { fileURLToPath } from "node:url";

export const BRIDGE_HEADER = "x-kube-double-bridge";
const UPSTREAM_HEADER = "x-kube-double-upstream";
/** The WebSocket subprotocol of SPDY tunnelled in a WebSocket (kubectl ≥ 1.31 port-forward). */
export const SPDY_TUNNEL_PROTOCOL = "SPDY/3.1+portforward.k8s.io";

const BINARY = fileURLToPath(new URL("../../spdy/bin/kube-spdy-bridge", import.meta.url));
const secret = randomBytes(32).toString("hex");

let started: Promise<number | undefined> | undefined;

/** Whether a request asks for SPDY: a raw SPDY/3.1 upgrade or SPDY tunnelled in a WebSocket. */
export function wantsSpdy(req: http.IncomingMessage, offered: Set<string>): boolean {
  return /^spdy\/3\.1$/i.test(String(req.headers.upgrade ?? "")) || offered.has(SPDY_TUNNEL_PROTOCOL);
}

/** Whether a request comes from the translator (it carries the secret the double gave it). */
export function fromBridge(req: http.IncomingMessage): boolean {
  const h = req.headers[BRIDGE_HEADER];
  return typeof h === "string" && h.length === secret.length && timingSafeEqual(Buffer.from(h), Buffer.from(secret));
}

/** The translator's port, starting it on first use; undefined when its binary is not built. */
function bridgePort(): Promise<number | undefined> {
  started ??= new Promise((resolve) => {
    if (!existsSync(BINARY)) return resolve(undefined);
    const p = spawn(BINARY, ["-listen", "127.0.0.1:0"], { stdio: ["pipe", "pipe", "inherit"] });
    p.on("error", () => resolve(undefined));
    p.on("exit", () => {
      // Started again on the next SPDY request.
      started = undefined;
      resolve(undefined);
    });
    // Standard input stays open while this process lives: the translator exits when it closes.
    p.stdin!.write(`${secret}\n`);
    const lines = createInterface({ input: p.stdout! });
    lines.once("line", (line) => {
      const m = /^listening .*:(\d+)$/.exec(line);
      resolve(m ? Number(m[1]) : undefined);
      lines.close();
    });
    for (const s of [p.stdin, p.stdout] as unknown as { unref?: () => void }[]) s.unref?.();
    p.unref();
  });
  return started;
}

/**
 * Hand an authorized SPDY upgrade to the translator. Resolves false (the
 * socket untouched) when the translator is not available.
 */
export async function handToBridge(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<boolean> {
  const port = await bridgePort();
  if (port === undefined) return false;
  const local = req.socket;
  const addr = (local.localAddress ?? "127.0.0.1").replace(/^::ffff:/, "");
  const host = addr.includes(":") ? `[${addr}]` : addr;
  const scheme = (local as TLSSocket).encrypted ? "wss" : "ws";
  const lines = [`${req.method} ${req.url} HTTP/1.1`];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    if ([BRIDGE_HEADER, UPSTREAM_HEADER].includes(name.toLowerCase())) continue;
    lines.push(`${name}: ${req.rawHeaders[i + 1]}`);
  }
  lines.push(`X-Kube-Double-Upstream: ${scheme}://${host}:${local.localPort}`);
  const upstream = net.connect({ host: "127.0.0.1", port });
  upstream.setNoDelay(true);
  upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
  if (head.length) upstream.write(head);
  socket.pipe(upstream).pipe(socket);
  upstream.on("error", () => socket.destroy());
  upstream.on("close", () => socket.destroy());
  socket.on("close", () => upstream.destroy());
  return true;
}
