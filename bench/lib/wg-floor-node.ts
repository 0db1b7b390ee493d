/**
 * One end of `bench wg-floor` (bench/wg-floor.ts `--node`): a process in the root namespace or in one of the
 * bench's network namespaces, driven by JSON lines on stdin, answering one JSON line per command on stdout.
 *
 * - `wg`: opens a WireGuard device here as the product does (@daalu/wireguard openDevice, wireguard-go backend),
 *   with its key, listen port, one peer and an address; the device lives until `quit`.
 * - `serve`: a plain TCP and a TLS server on 0.0.0.0. A client sends `<bytes>\n`; the server writes that many bytes
 *   as fast as backpressure allows (64 KiB writes, waiting for `drain`) and ends: the sender of a download.
 * - `get`: dials such a server, asks for `bytes` and reads them to the end: the receiver; answers the wall ms from
 *   the dial to the last byte (TLS handshake included, ≪ 1 % of a 256 MiB run) and the TLS cipher.
 * - `quit`: closes the device and the servers, exits.
 */
import { readFileSync } from "node:fs";
import { createServer, connect as tcpConnect, type Server, type Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from "node:tls";
import { openDevice, type WgDevice } from "@daalu/wireguard";

export type NodeCommand =
  | { op: "wg"; iface: string; privateKey: string; listenPort: number; address: string; peer: { publicKey: string; allowedIps: string[]; endpoint: string } }
  | { op: "serve"; certFile: string; keyFile: string }
  | { op: "get"; host: string; port: number; tls: boolean; caFile?: string; bytes: number }
  | { op: "quit" };

export type NodeReply = { ok: true; tcpPort?: number; tlsPort?: number; ms?: number; bytes?: number; cipher?: string } | { ok: false; error: string };

const CHUNK = Buffer.alloc(64 * 1024, 0x61);

/** Answers one request on `sock`: reads `<bytes>\n`, then writes that many bytes and ends. */
function sendOnRequest(sock: Socket | TLSSocket): void {
  let head = "";
  sock.on("error", () => sock.destroy());
  const onData = (b: Buffer) => {
    head += b.toString("latin1");
    const nl = head.indexOf("\n");
    if (nl < 0) return;
    sock.off("data", onData);
    let left = Number(head.slice(0, nl));
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, CHUNK.length);
        left -= n;
        if (!sock.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) return void sock.once("drain", pump);
      }
      sock.end();
    };
    pump();
  };
  sock.on("data", onData);
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "0.0.0.0", () => {
      const a = server.address();
      resolve(typeof a === "object" && a ? a.port : 0);
    });
  });
}

/** Dials, asks for `bytes`, reads to the end; the wall ms from the dial to the last byte. */
function get(c: Extract<NodeCommand, { op: "get" }>): Promise<NodeReply> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let got = 0;
    const ask = () => sock.write(`${c.bytes}\n`);
    const sock: Socket | TLSSocket = c.tls
      ? tlsConnect({ host: c.host, port: c.port, ca: readFileSync(c.caFile!), servername: "localhost" }, ask)
      : tcpConnect({ host: c.host, port: c.port }, ask);
    sock.on("data", (b: Buffer) => (got += b.length));
    sock.on("error", reject);
    sock.on("end", () => {
      const ms = performance.now() - t0;
      const cipher = c.tls ? (sock as TLSSocket).getCipher().standardName : undefined;
      sock.destroy();
      if (got !== c.bytes) reject(new Error(`got ${got} bytes of ${c.bytes}`));
      else resolve({ ok: true, ms, bytes: got, ...(cipher ? { cipher } : {}) });
    });
  });
}

/** The `--node` process: commands on stdin until `quit` or stdin's end. */
export async function runNode(): Promise<void> {
  let dev: WgDevice | undefined;
  const servers: Server[] = [];
  const out = (r: NodeReply) => process.stdout.write(`${JSON.stringify(r)}\n`);
  const quit = async () => {
    for (const s of servers) s.close();
    await dev?.close().catch(() => undefined);
    process.exit(0);
  };
  for await (const line of createInterface({ input: process.stdin })) {
    if (!line.trim()) continue;
    const c = JSON.parse(line) as NodeCommand;
    try {
      if (c.op === "quit") return await quit();
      if (c.op === "wg") {
        dev = await openDevice(c.iface, { backend: "wireguard-go" });
        await dev.configure({ privateKey: c.privateKey, listenPort: c.listenPort, peers: [c.peer] });
        await dev.addAddress(c.address);
        out({ ok: true });
      } else if (c.op === "serve") {
        const tcp = createServer({ noDelay: true }, sendOnRequest);
        const tls = createTlsServer({ cert: readFileSync(c.certFile), key: readFileSync(c.keyFile), noDelay: true }, sendOnRequest);
        servers.push(tcp, tls);
        out({ ok: true, tcpPort: await listen(tcp), tlsPort: await listen(tls) });
      } else {
        out(await get(c));
      }
    } catch (err) {
      out({ ok: false, error: (err as Error).message });
    }
  }
  await quit();
}
