/**
 * CallRecord and CallRecordBatch encoded by hand (the tunnel-proxy publishes
 * one record per proxied call): protobuf-es's reflective toBinary of the record
 * was the largest protobuf item of the tunnel-proxy's profile in `bench
 * proxy-floor` (docs/performance.md). The bytes are the ones toBinary writes
 * (pinned by record-wire.test.ts); a record this does not cover (a session
 * record, unknown fields, a time before 1970, a counter beyond 2^53) is
 * encoded by toBinary. Field numbers: proto/daalu/audit/v1/audit.proto.
 */
import { toBinary } from "@bufbuild/protobuf";
import { auditv1, key, lenField, putLen, putString, putUint, uintField } from "@daalu/proto";

const utf8 = (s: string): number => (s.length === 0 ? 0 : Buffer.byteLength(s, "utf8"));

type Operation = auditv1.Operation;

const OP_FIELDS = ["verb", "resource", "namespace", "name", "path", "subresource", "apiGroup"] as const;

/** What `encodeCallRecord` measured: sizes reused by the write. */
interface Sized {
  size: number;
  strs: number[];
  caller: number;
  op: number;
  outcome: number;
  time: number;
}

function covered(r: auditv1.CallRecord): boolean {
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  return (
    r.session === undefined &&
    !r.$unknown?.length &&
    r.bytesIn <= max &&
    r.bytesIn >= 0n &&
    r.bytesOut <= max &&
    r.bytesOut >= 0n &&
    (r.time === undefined || (r.time.seconds >= 0n && r.time.seconds <= max && r.time.nanos >= 0 && !r.time.$unknown?.length)) &&
    !r.caller?.$unknown?.length &&
    !r.operation?.$unknown?.length &&
    !r.outcome?.$unknown?.length &&
    (r.caller === undefined || r.caller.kind >= 0)
  );
}

function measure(r: auditv1.CallRecord): Sized {
  const strs = [utf8(r.id), utf8(r.tenantId), utf8(r.clusterId), utf8(r.traceId)];
  let caller = -1;
  if (r.caller) {
    const idLen = utf8(r.caller.id);
    strs.push(idLen);
    caller = uintField(r.caller.kind) + lenField(idLen);
  }
  let op = -1;
  if (r.operation) {
    op = 0;
    for (const f of OP_FIELDS) {
      const n = utf8(r.operation[f]);
      strs.push(n);
      op += lenField(n);
    }
  }
  let outcome = -1;
  if (r.outcome) {
    const n = utf8(r.outcome.error);
    strs.push(n);
    outcome = uintField(r.outcome.statusCode) + lenField(n) + (r.outcome.ok ? 2 : 0);
  }
  const time = r.time ? uintField(Number(r.time.seconds)) + uintField(r.time.nanos) : -1;
  const size =
    lenField(strs[0]!) +
    lenField(strs[1]!) +
    lenField(strs[2]!) +
    (caller < 0 ? 0 : lenField(caller, true)) +
    (op < 0 ? 0 : lenField(op, true)) +
    (outcome < 0 ? 0 : lenField(outcome, true)) +
    uintField(r.latencyMs) +
    uintField(Number(r.bytesIn)) +
    uintField(Number(r.bytesOut)) +
    lenField(strs[3]!) +
    (time < 0 ? 0 : lenField(time, true));
  return { size, strs, caller, op, outcome, time };
}

function write(r: auditv1.CallRecord, m: Sized, b: Buffer, pos: number): number {
  const s = m.strs;
  let i = 4;
  pos = putString(b, pos, 1, r.id, s[0]!);
  pos = putString(b, pos, 2, r.tenantId, s[1]!);
  pos = putString(b, pos, 3, r.clusterId, s[2]!);
  if (r.caller) {
    pos = putLen(b, pos, 4, m.caller);
    pos = putUint(b, pos, 1, r.caller.kind);
    pos = putString(b, pos, 2, r.caller.id, s[i++]!);
  }
  if (r.operation) {
    const op: Operation = r.operation;
    pos = putLen(b, pos, 5, m.op);
    for (let f = 0; f < OP_FIELDS.length; f++) pos = putString(b, pos, f + 1, op[OP_FIELDS[f]!], s[i++]!);
  }
  if (r.outcome) {
    pos = putLen(b, pos, 6, m.outcome);
    pos = putUint(b, pos, 1, r.outcome.statusCode);
    pos = putString(b, pos, 2, r.outcome.error, s[i]!);
    if (r.outcome.ok) {
      b[pos++] = key(3, 0);
      b[pos++] = 1;
    }
  }
  pos = putUint(b, pos, 7, r.latencyMs);
  pos = putUint(b, pos, 8, Number(r.bytesIn));
  pos = putUint(b, pos, 9, Number(r.bytesOut));
  pos = putString(b, pos, 10, r.traceId, s[3]!);
  if (r.time) {
    pos = putLen(b, pos, 11, m.time);
    pos = putUint(b, pos, 1, Number(r.time.seconds));
    pos = putUint(b, pos, 2, r.time.nanos);
  }
  return pos;
}

/** toBinary(CallRecordSchema, r), byte for byte. */
export function encodeCallRecord(r: auditv1.CallRecord): Uint8Array {
  if (!covered(r)) return toBinary(auditv1.CallRecordSchema, r);
  const m = measure(r);
  const b = Buffer.allocUnsafe(m.size);
  write(r, m, b, 0);
  return b;
}

/** toBinary(CallRecordBatchSchema, {records}), byte for byte. */
export function encodeCallRecordBatch(records: readonly auditv1.CallRecord[]): Uint8Array {
  const parts = records.map((r) => encodeCallRecord(r));
  const b = Buffer.allocUnsafe(parts.reduce((n, p) => n + lenField(p.length, true), 0));
  let pos = 0;
  for (const p of parts) {
    pos = putLen(b, pos, 1, p.length);
    b.set(p, pos);
    pos += p.length;
  }
  return b;
}
