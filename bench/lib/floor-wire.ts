/**
 * What the floor's stand-ins (bench proxy-floor) put on the wire: no Daalu
 * contract, only enough bytes to carry one kubectl GET through the mandated
 * transports and its answer back.
 *
 *   call    (gateway -> NATS -> proxy -> gRPC -> edge): "METHOD\npath\naccept\nuser-agent"
 *   answer  (edge -> gRPC -> proxy -> NATS -> gateway): u16 status, then the body
 *   frame   (one message on the ProxyMux-like bidi stream): u32 call id, then a call or an answer
 *   record  (proxy -> JetStream -> audit): ~300 bytes of JSON, as an audit record of the product
 */

/** The stand-in gateway's request subject (core NATS, queue group "floor"). */
export const FLOOR_SUBJECT = "floor.call";
/** The stand-ins' own JetStream file stream, its subject and its writer's durable consumer. */
export const FLOOR_STREAM = "FLOOR_AUDIT";
export const FLOOR_AUDIT_SUBJECT = "floor.audit.calls";
export const FLOOR_CONSUMER = "floor-audit";
/** The one bidi method of the stand-in edge's gRPC server. */
export const FLOOR_MUX_PATH = "/floor.Floor/Mux";
/** The stand-in audit writer's table (in the run's database). */
export const FLOOR_TABLE = "floor_audit";
/** An audit record's size, about that of the product's. */
export const RECORD_BYTES = 300;

export interface FloorCall {
  method: string;
  path: string;
  accept: string;
  userAgent: string;
}

export function encodeCall(c: FloorCall): Buffer {
  return Buffer.from(`${c.method}\n${c.path}\n${c.accept}\n${c.userAgent}`, "latin1");
}

export function decodeCall(b: Uint8Array): FloorCall {
  const [method = "", path = "", accept = "", userAgent = ""] = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1").split("\n");
  return { method, path, accept, userAgent };
}

export function encodeAnswer(status: number, body: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(2 + body.byteLength);
  b.writeUInt16BE(status, 0);
  b.set(body, 2);
  return b;
}

export function decodeAnswer(b: Uint8Array): { status: number; body: Buffer } {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (buf.length < 2) throw new Error(`answer of ${buf.length} bytes: no status`);
  return { status: buf.readUInt16BE(0), body: buf.subarray(2) };
}

/** One stream message: the call id, then `payload` (one copy). */
export function frame(id: number, payload: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(4 + payload.byteLength);
  b.writeUInt32BE(id >>> 0, 0);
  b.set(payload, 4);
  return b;
}

/** The id and the payload of a stream message (the payload is a view, not a copy). */
export function unframe(b: Buffer): { id: number; payload: Buffer } {
  if (b.length < 4) throw new Error(`frame of ${b.length} bytes: no id`);
  return { id: b.readUInt32BE(0), payload: b.subarray(4) };
}

/**
 * The call's audit record: JSON with what the product's record holds (who,
 * where, what, outcome, size, times), padded with spaces to RECORD_BYTES.
 */
export function auditRecord(r: { id: string; path: string; status: number; bytes: number; startedAt: number; endedAt: number }): Buffer {
  const json = JSON.stringify({
    id: r.id,
    tenant: "bench",
    cluster: "floor",
    caller: "bench-viewer",
    method: "GET",
    path: r.path,
    status: r.status,
    bytes: r.bytes,
    started_at: new Date(r.startedAt).toISOString(),
    duration_ms: r.endedAt - r.startedAt,
  });
  return Buffer.from(json.length >= RECORD_BYTES ? json : json.padEnd(RECORD_BYTES, " "), "utf8");
}
