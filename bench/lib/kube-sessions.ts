/**
 * A client of the Kubernetes session protocols over WebSocket, for `bench
 * portforward`: the same code drives the API server directly and the hub's
 * gateway, so both paths pay the same client-side cost.
 *
 * - Port-forward (`v4.channel.k8s.io`, the kubelet's WebSocket protocol):
 *   port 80 of default/nginx is data channel 0 and error channel 1, each
 *   opened by a 2-byte port prefix; the bench's API server (kube-api.ts,
 *   BENCH_KUBE_SESSIONS) forwards it to a blob server that answers a byte
 *   count with that many bytes.
 * - Exec (`v5.channel.k8s.io`): `cat` with stdin, the double's echo: stdin on
 *   channel 0, stdout on 1; the first (empty) stdout frame says the streams
 *   are ready; the close signal (255, 0) ends stdin.
 */
import type { Socket } from "node:net";
import { performance } from "node:perf_hooks";
import type { TLSSocket } from "node:tls";
import { WebSocket } from "ws";

/** Where sessions go: the API server itself, or the gateway's `/k8s/clusters/<id>` prefix. */
export interface SessionTarget {
  name: string;
  dial(): Promise<TLSSocket>;
  prefix: string;
  token: string;
}

const POD_PATH = "/api/v1/namespaces/default/pods/nginx";
const OPEN_TIMEOUT_MS = 30_000;

/** A WebSocket with its messages queued, read one at a time. */
interface Conn {
  ws: WebSocket;
  /** The next message (channel byte first); rejects once the connection closed. */
  next(): Promise<Buffer>;
  /** Resolves when the connection closed. */
  closed: Promise<void>;
}

async function open(t: SessionTarget, path: string, protocol: string): Promise<Conn> {
  const ws = new WebSocket(`wss://127.0.0.1${t.prefix}${path}`, [protocol], {
    headers: { authorization: `Bearer ${t.token}` },
    perMessageDeflate: false,
    handshakeTimeout: OPEN_TIMEOUT_MS,
    // Connected inside the target's namespace (places.ts tlsDial); ws takes it as node:http's createConnection.
    createConnection: ((_o: unknown, cb: (err: Error | null, s?: Socket) => void) => {
      t.dial().then(
        (s) => cb(null, s),
        (err: Error) => cb(err),
      );
      return undefined;
    }) as unknown as () => Socket,
  });
  const queue: Buffer[] = [];
  let waiter: { resolve(b: Buffer): void; reject(e: Error): void } | undefined;
  let ended: Error | undefined;
  ws.on("message", (data: Buffer) => {
    if (waiter) {
      const w = waiter;
      waiter = undefined;
      w.resolve(data);
    } else queue.push(data);
  });
  const closed = new Promise<void>((resolve) =>
    ws.once("close", (code, reason) => {
      ended = new Error(`the ${t.name} session closed (${code} ${reason.toString()})`);
      waiter?.reject(ended);
      waiter = undefined;
      resolve();
    }),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
    ws.once("unexpected-response", (_req, res) => {
      const body: Buffer[] = [];
      res.on("data", (d: Buffer) => body.push(d));
      res.on("end", () => reject(new Error(`${t.name}: HTTP ${res.statusCode}: ${Buffer.concat(body).subarray(0, 400).toString()}`)));
    });
  });
  ws.on("error", () => undefined); // surfaces as close
  return {
    ws,
    closed,
    next: () => {
      const b = queue.shift();
      if (b) return Promise.resolve(b);
      if (ended) return Promise.reject(ended);
      return new Promise((resolve, reject) => (waiter = { resolve, reject }));
    },
  };
}

/** One port-forward session that downloads `bytes` from the blob server: ms from the request to the last byte, and the session's open time. */
export async function download(t: SessionTarget, bytes: number): Promise<{ ms: number; openMs: number }> {
  const o0 = performance.now();
  const c = await open(t, `${POD_PATH}/portforward?ports=80`, "v4.channel.k8s.io");
  // Both channels' 2-byte port prefixes come first.
  for (let prefixes = 0; prefixes < 2; ) {
    const m = await c.next();
    if (m.length === 3) prefixes++;
    else throw new Error(`${t.name}: unexpected frame before the port prefixes (channel ${m[0]}, ${m.length - 1} bytes)`);
  }
  const openMs = performance.now() - o0;
  const t0 = performance.now();
  c.ws.send(Buffer.concat([Buffer.from([0]), Buffer.from(`${bytes}\n`)]));
  let got = 0;
  while (got < bytes) {
    const m = await c.next();
    if (m[0] === 0) got += m.length - 1;
    else if (m[0] === 1 && m.length > 1) throw new Error(`${t.name}: port-forward error: ${m.subarray(1).toString()}`);
  }
  const ms = performance.now() - t0;
  if (got !== bytes) throw new Error(`${t.name}: got ${got} bytes for ${bytes}`);
  c.ws.close(1000);
  await c.closed;
  return { ms, openMs };
}

/** One exec session of `cat`: `warmup` then `samples` 1-byte echoes at one caller; the samples' round trips in ms, sorted. */
export async function echoRtts(t: SessionTarget, samples: number, warmup: number): Promise<number[]> {
  const c = await open(t, `${POD_PATH}/exec?command=cat&stdin=true&stdout=true&stderr=true`, "v5.channel.k8s.io");
  const ready = await c.next();
  if (ready[0] !== 1 || ready.length !== 1) throw new Error(`${t.name}: expected the empty stdout frame first, got channel ${ready[0]} (${ready.subarray(1).toString()})`);
  const ms: number[] = [];
  const frame = Buffer.from([0, 0x61]);
  for (let i = 0; i < warmup + samples; i++) {
    const t0 = performance.now();
    c.ws.send(frame);
    const m = await c.next();
    const dt = performance.now() - t0;
    if (m[0] !== 1 || m.length !== 2 || m[1] !== 0x61) throw new Error(`${t.name}: echo ${i}: channel ${m[0]}, ${m.length - 1} bytes: ${m.subarray(1, 200).toString()}`);
    if (i >= warmup) ms.push(dt);
  }
  // Closing stdin ends cat: exit Status on channel 3, then the API server closes.
  c.ws.send(Buffer.from([255, 0]));
  await c.closed;
  return ms.sort((a, b) => a - b);
}
