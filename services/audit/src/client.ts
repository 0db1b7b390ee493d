import { randomUUID } from "node:crypto";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { jetstreamManager } from "@nats-io/jetstream";
import { headers as natsHeaders, type MsgHdrs } from "@nats-io/transport-node";
import { auditv1 } from "@daalu/proto";
import { auditSubject, grpcClient, natsClient, publishForAck, type CallOptions, type MethodsOf, type NatsConnection, type ServiceClient } from "@daalu/runtime";
import { ensureAuditStream, HEADER_AUDIT_BATCH } from "./adapters/nats/stream.js";
import { toCallRow } from "./domain/record.js";
import { encodeCallRecord, encodeCallRecordBatch } from "./record-wire.js";
import { AuditUnavailableError, InvalidCallRecordError } from "./errors.js";

export type AuditClient = ServiceClient<MethodsOf<typeof auditv1.AuditService>>;

/** The typed audit query client over NATS (what the gateway uses). */
export function createAuditClient(nc: NatsConnection, opts: { prefix: string; defaults?: CallOptions }): AuditClient {
  return natsClient(nc, auditv1.AuditService, opts);
}

/** The typed audit query client over gRPC (default port 7104). */
export function createAuditGrpcClient(address: string, defaults?: CallOptions): AuditClient & { close(): void } {
  return grpcClient(address, auditv1.AuditService, defaults ? { defaults } : {});
}

/** A call record with a fresh id (the idempotency key) and the current time unless given. */
export function newCallRecord(init: MessageInitShape<typeof auditv1.CallRecordSchema>): auditv1.CallRecord {
  const r = create(auditv1.CallRecordSchema, init);
  if (!r.id) r.id = randomUUID();
  if (!r.time) r.time = timestampNow();
  return r;
}

export const DEFAULT_PUBLISH_ATTEMPT_TIMEOUT_MS = 2_000;
export const DEFAULT_PUBLISH_DEADLINE_MS = 10_000;
/** Records of one subject sent as one JetStream message at most (see CallRecordBatch). */
export const DEFAULT_PUBLISH_MAX_BATCH = 64;

export interface AuditPublisherOptions {
  prefix: string;
  /** How long one attempt waits for its PubAck. */
  attemptTimeoutMs?: number;
  /** How long publish() keeps retrying before it gives up with AuditUnavailableError. */
  deadlineMs?: number;
  /** Create/update the stream when the publisher is made (default true). */
  ensureStream?: boolean;
  /** Most records one JetStream message carries (default 64; 1 turns group publishing off). */
  maxBatch?: number;
}

export interface AuditPublisher {
  /**
   * Publishes one record and resolves once JetStream has stored it (PubAck).
   * Retries with the same Nats-Msg-Id, so a retry after a lost PubAck is
   * dropped as a duplicate, not stored twice. Throws AuditUnavailableError
   * when no PubAck came before the deadline: the caller must then refuse the
   * call it was about to answer. Throws InvalidCallRecordError for a record
   * the audit service would reject.
   *
   * Group publishing: while a message for the record's subject waits for its
   * PubAck, further records of that subject queue and then go out together
   * as one CallRecordBatch, so under load one PubAck accepts many records
   * (and the stream, the server and the audit writer handle one message for
   * them). A record alone goes out at once, as a plain CallRecord.
   */
  publish(record: auditv1.CallRecord, opts?: { deadlineMs?: number; signal?: AbortSignal }): Promise<{ seq: number; duplicate: boolean }>;
}

interface Pending {
  record: auditv1.CallRecord;
  end: number;
  signal: AbortSignal | undefined;
  resolve(r: { seq: number; duplicate: boolean }): void;
  reject(err: unknown): void;
}

/** The publisher the tunnel-proxy uses: one record per call, awaited. */
export async function createAuditPublisher(nc: NatsConnection, opts: AuditPublisherOptions): Promise<AuditPublisher> {
  if (opts.ensureStream !== false) {
    try {
      await ensureAuditStream(await jetstreamManager(nc), opts.prefix);
    } catch (err) {
      throw new AuditUnavailableError(err);
    }
  }
  const attemptTimeout = opts.attemptTimeoutMs ?? DEFAULT_PUBLISH_ATTEMPT_TIMEOUT_MS;
  const defaultDeadline = opts.deadlineMs ?? DEFAULT_PUBLISH_DEADLINE_MS;
  const maxBatch = Math.max(1, opts.maxBatch ?? DEFAULT_PUBLISH_MAX_BATCH);
  /** Per subject: records waiting while that subject's message is in flight. */
  const lanes = new Map<string, { queue: Pending[]; busy: boolean }>();

  /** Sends one message (a record or a batch) until PubAck or the earliest deadline of its records. */
  async function send(subject: string, group: Pending[]): Promise<{ seq: number; duplicate: boolean }> {
    let bytes: Uint8Array;
    let msgID: string;
    let headers: MsgHdrs | undefined;
    if (group.length === 1) {
      bytes = encodeCallRecord(group[0]!.record);
      msgID = group[0]!.record.id;
    } else {
      bytes = encodeCallRecordBatch(group.map((p) => p.record));
      msgID = randomUUID();
      headers = natsHeaders();
      headers.set(HEADER_AUDIT_BATCH, String(group.length));
    }
    const end = Math.min(...group.map((p) => p.end));
    let last: unknown;
    for (let attempt = 0; ; attempt++) {
      if (group.every((p) => p.signal?.aborted)) throw new AuditUnavailableError(group[0]!.signal!.reason ?? last);
      const left = end - Date.now();
      if (left <= 0) throw new AuditUnavailableError(last);
      try {
        // The PubAck comes back on the connection's shared inbox (runtime's publishForAck), not through js.publish.
        const ack = await publishForAck(nc, subject, bytes, { msgID, timeoutMs: Math.max(50, Math.min(attemptTimeout, left)), ...(headers ? { headers } : {}) });
        return { seq: ack.seq, duplicate: ack.duplicate };
      } catch (err) {
        last = err;
      }
      // Back off a little (NATS restarting, JetStream electing); never past the deadline.
      const pause = Math.min(50 * 2 ** Math.min(attempt, 5), 1_000, Math.max(0, end - Date.now()));
      await new Promise((r) => setTimeout(r, pause));
    }
  }

  function drain(subject: string): void {
    const lane = lanes.get(subject)!;
    if (lane.busy) return;
    // Records whose caller gave up while queued are dropped here, never sent.
    lane.queue = lane.queue.filter((p) => !p.signal?.aborted || (p.reject(new AuditUnavailableError(p.signal.reason)), false));
    if (lane.queue.length === 0) {
      lanes.delete(subject);
      return;
    }
    const group = lane.queue.splice(0, maxBatch);
    lane.busy = true;
    send(subject, group).then(
      (ack) => group.forEach((p) => p.resolve(ack)),
      (err) => group.forEach((p) => p.reject(err)),
    ).finally(() => {
      lane.busy = false;
      drain(subject);
    });
  }

  return {
    publish(record, o = {}) {
      // Validate exactly as the writer will: a record it would drop must never be acknowledged here.
      const checked = toCallRow(record);
      if (!checked.ok) return Promise.reject(new InvalidCallRecordError(checked.problem));
      if (o.signal?.aborted) return Promise.reject(new AuditUnavailableError(o.signal.reason));
      const subject = auditSubject(opts.prefix, record.tenantId, record.clusterId);
      return new Promise((resolve, reject) => {
        let lane = lanes.get(subject);
        if (!lane) lanes.set(subject, (lane = { queue: [], busy: false }));
        lane.queue.push({ record, end: Date.now() + (o.deadlineMs ?? defaultDeadline), signal: o.signal, resolve, reject });
        drain(subject);
      });
    },
  };
}
