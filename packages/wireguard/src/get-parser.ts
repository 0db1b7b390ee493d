/**
 * Incremental parser of a UAPI `get=1` answer, fed the socket's chunks as they
 * arrive. It works on the bytes: no line, key or number of the ~3 MB answer of
 * a 10,000-peer device becomes a string; per peer only its public key (hex
 * decoded in place, then base64), its allowed IPs and endpoint are strings.
 */
import type { PeerStatus } from "./types.js";

const NL = 10;
const EQ = 61;
const MINUS = 45;

const K = {
  publicKey: Buffer.from("public_key"),
  allowedIp: Buffer.from("allowed_ip"),
  rxBytes: Buffer.from("rx_bytes"),
  txBytes: Buffer.from("tx_bytes"),
  endpoint: Buffer.from("endpoint"),
  hsSec: Buffer.from("last_handshake_time_sec"),
  hsNsec: Buffer.from("last_handshake_time_nsec"),
  keepalive: Buffer.from("persistent_keepalive_interval"),
  listenPort: Buffer.from("listen_port"),
  errno: Buffer.from("errno"),
};

function is(buf: Buffer, s: number, eq: number, key: Buffer): boolean {
  return eq - s === key.length && buf.compare(key, 0, key.length, s, eq) === 0;
}

/** Decimal (optionally negative) integer in buf[s, e). */
function int(buf: Buffer, s: number, e: number): number {
  let neg = false;
  if (s < e && buf[s] === MINUS) {
    neg = true;
    s++;
  }
  let n = 0;
  for (let i = s; i < e; i++) {
    const d = buf[i]! - 48;
    if (d < 0 || d > 9) return Number.NaN;
    n = n * 10 + d;
  }
  return neg ? -n : n;
}

function hexNibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

export class GetParser {
  listenPort = 0;
  readonly peers: PeerStatus[] = [];
  /** Set once the `errno=N` line has been read. */
  errno: number | undefined;
  private complete = false;
  private rest: Buffer | undefined;
  private cur: PeerStatus | undefined;
  private hsSec = 0;
  private hsNsec = 0;
  private readonly scratch = Buffer.alloc(32);

  /** Feeds one chunk; true once the answer (`errno=N` and the blank line) is complete. */
  push(chunk: Buffer): boolean {
    let start = 0;
    if (this.rest) {
      const nl = chunk.indexOf(NL);
      if (nl < 0) {
        this.rest = Buffer.concat([this.rest, chunk]);
        return false;
      }
      const line = Buffer.concat([this.rest, chunk.subarray(0, nl)]);
      this.rest = undefined;
      this.line(line, 0, line.length);
      start = nl + 1;
    }
    while (!this.complete) {
      const nl = chunk.indexOf(NL, start);
      if (nl < 0) break;
      this.line(chunk, start, nl);
      start = nl + 1;
    }
    if (this.complete) {
      this.flush();
      return true;
    }
    // Copied: the socket may reuse its buffers.
    if (start < chunk.length) this.rest = Buffer.from(chunk.subarray(start));
    return false;
  }

  private flush(): void {
    const c = this.cur;
    if (c) c.lastHandshakeMs = this.hsSec === 0 && this.hsNsec === 0 ? 0 : this.hsSec * 1000 + Math.floor(this.hsNsec / 1e6);
  }

  private line(buf: Buffer, s: number, e: number): void {
    if (s === e) {
      // The blank line after errno ends the answer.
      if (this.errno !== undefined) this.complete = true;
      return;
    }
    const eq = buf.indexOf(EQ, s);
    if (eq < 0 || eq >= e) return;
    const v = eq + 1;
    const cur = this.cur;
    switch (eq - s) {
      case 10:
        if (is(buf, s, eq, K.publicKey)) this.startPeer(buf, v, e);
        else if (cur && is(buf, s, eq, K.allowedIp)) cur.allowedIps.push(buf.toString("latin1", v, e));
        return;
      case 8:
        if (!cur) return;
        if (is(buf, s, eq, K.rxBytes)) cur.rxBytes = int(buf, v, e);
        else if (is(buf, s, eq, K.txBytes)) cur.txBytes = int(buf, v, e);
        else if (is(buf, s, eq, K.endpoint)) cur.endpoint = buf.toString("latin1", v, e);
        return;
      case 23:
        if (is(buf, s, eq, K.hsSec)) this.hsSec = int(buf, v, e);
        return;
      case 24:
        if (is(buf, s, eq, K.hsNsec)) this.hsNsec = int(buf, v, e);
        return;
      case 29:
        if (cur && is(buf, s, eq, K.keepalive)) cur.persistentKeepaliveSeconds = int(buf, v, e);
        return;
      case 11:
        if (is(buf, s, eq, K.listenPort)) this.listenPort = int(buf, v, e);
        return;
      case 5:
        if (is(buf, s, eq, K.errno)) this.errno = int(buf, v, e);
        return;
      default:
        return;
    }
  }

  private startPeer(buf: Buffer, v: number, e: number): void {
    this.flush();
    this.hsSec = 0;
    this.hsNsec = 0;
    let publicKey: string;
    if (e - v === 64) {
      const out = this.scratch;
      let bad = 0;
      for (let i = 0; i < 32; i++) {
        const hi = hexNibble(buf[v + 2 * i]!);
        const lo = hexNibble(buf[v + 2 * i + 1]!);
        bad |= hi | lo;
        out[i] = (hi << 4) | lo;
      }
      publicKey = bad < 0 ? Buffer.from(buf.toString("latin1", v, e), "hex").toString("base64") : out.toString("base64");
    } else publicKey = Buffer.from(buf.toString("latin1", v, e), "hex").toString("base64");
    this.cur = { publicKey, allowedIps: [], lastHandshakeMs: 0, rxBytes: 0, txBytes: 0, persistentKeepaliveSeconds: 0 };
    this.peers.push(this.cur);
  }
}
