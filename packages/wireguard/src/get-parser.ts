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

/** Hex digit → value, -1 for anything else. */
const NIBBLE = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) NIBBLE[48 + i] = i;
for (let i = 0; i < 6; i++) NIBBLE[97 + i] = NIBBLE[65 + i] = 10 + i;

/** The first two bytes of a key (`"pu"` → 0x7075): with the position of its `=`, they tell the keys of a get answer apart. */
const two = (k: string) => (k.charCodeAt(0) << 8) | k.charCodeAt(1);
const PU = two("public_key");
const PE = two("persistent_keepalive_interval");
const AL = two("allowed_ip");
const RX = two("rx_bytes");
const TX = two("tx_bytes");
const EN = two("endpoint");
const ER = two("errno");
const LA = two("last_handshake_time_sec");
const LI = two("listen_port");
// Last bytes of keys: public_key, allowed_ip, rx/tx_bytes, last_handshake_time_(n)sec, persistent_keepalive_interval,
// endpoint / listen_port, errno.
const [Y, P, S, C, L, T, O] = [..."ypsclto"].map((c) => c.charCodeAt(0)) as [number, number, number, number, number, number, number];

/** buf[s, e) is `<key of n bytes ending in last>=...`, given that its first two bytes already matched. */
function key(buf: Buffer, s: number, e: number, n: number, last: number): boolean {
  return s + n < e && buf[s + n] === EQ && buf[s + n - 1] === last;
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

  /**
   * One `key=value` line in buf[s, e). A key is told by its first two bytes, its last one and where its `=` is: the keys of a get
   * answer (xplatform UAPI) differ in those, and no string is made or compared per line. Other keys (private_key,
   * preshared_key, protocol_version, fwmark, ...) fall through.
   */
  private line(buf: Buffer, s: number, e: number): void {
    if (s === e) {
      // The blank line after errno ends the answer.
      if (this.errno !== undefined) this.complete = true;
      return;
    }
    if (e - s < 3) return;
    const cur = this.cur;
    switch ((buf[s]! << 8) | buf[s + 1]!) {
      case PU:
        if (key(buf, s, e, 10, Y)) this.startPeer(buf, s + 11, e);
        return;
      case AL:
        if (cur && key(buf, s, e, 10, P)) cur.allowedIps.push(buf.toString("latin1", s + 11, e));
        return;
      case RX:
        if (cur && key(buf, s, e, 8, S)) cur.rxBytes = int(buf, s + 9, e);
        return;
      case TX:
        if (cur && key(buf, s, e, 8, S)) cur.txBytes = int(buf, s + 9, e);
        return;
      case LA:
        if (key(buf, s, e, 23, C)) this.hsSec = int(buf, s + 24, e);
        else if (key(buf, s, e, 24, C)) this.hsNsec = int(buf, s + 25, e);
        return;
      case PE:
        if (cur && key(buf, s, e, 29, L)) cur.persistentKeepaliveSeconds = int(buf, s + 30, e);
        return;
      case EN:
        if (cur && key(buf, s, e, 8, T)) cur.endpoint = buf.toString("latin1", s + 9, e);
        return;
      case ER:
        if (key(buf, s, e, 5, O)) this.errno = int(buf, s + 6, e);
        return;
      case LI:
        if (key(buf, s, e, 11, T)) this.listenPort = int(buf, s + 12, e);
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
        const hi = NIBBLE[buf[v + 2 * i]!]!;
        const lo = NIBBLE[buf[v + 2 * i + 1]!]!;
        bad |= hi | lo;
        out[i] = (hi << 4) | lo;
      }
      publicKey = bad < 0 ? Buffer.from(buf.toString("latin1", v, e), "hex").toString("base64") : out.toString("base64");
    } else publicKey = Buffer.from(buf.toString("latin1", v, e), "hex").toString("base64");
    this.cur = { publicKey, allowedIps: [], lastHandshakeMs: 0, rxBytes: 0, txBytes: 0, persistentKeepaliveSeconds: 0 };
    this.peers.push(this.cur);
  }
}
