import { randomUUID } from "node:crypto";
import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampDate, timestampNow } from "@bufbuild/protobuf/wkt";
import { jetstream, jetstreamManager, type JetStreamClient } from "@nats-io/jetstream";
import { auditv1, CallerKind } from "@daalu/proto";
import { auditSubject, grpcClient, natsClient, type CallOptions, type MethodsOf, type NatsConnection, type ServiceClient } from "@daalu/runtime";
import { ensureAuditStream } from "./adapters/nats/stream.js";
import { toCallRow } from "./domain/record.js";
import { AuditUnavailableError, InvalidCallRecordError } from "./errors.js";

export type AuditClient = ServiceClient<MethodsOf<typeof auditv1.AuditService>>;

/** The typed audit query client over NATS (what the gateway uses). */
export function createAuditClient(nc: NatsConnection, opts: { prefix: string; defaults?: CallOptions }): AuditClient {
  return natsClient(nc, auditv1.AuditService, { prefix: opts.prefix, defaults: { caller: { kind: CallerKind.SERVICE, id: "unknown" }, ...opts.defaults } });
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

export interface AuditPublisherOptions {
  prefix: string;
  /** How long one attempt waits for its PubAck. */
  attemptTimeoutMs?: number;
  /** How long publish() keeps retrying before it gives up with AuditUnavailableError. */
  deadlineMs?: number;
  /** Create/update the stream when the publisher is made (default true). */
  ensureStream?: boolean;
}

export interface AuditPublisher {
  /**
   * Publishes one record and resolves once JetStream has stored it (PubAck).
   * Retries with the same Nats-Msg-Id, so a retry after a lost PubAck is
   * dropped as a duplicate, not stored twice. Throws AuditUnavailableError
   * when no PubAck came before the deadline: the caller must then refuse the
   * call it was about to answer. Throws InvalidCallRecordError for a record
   * the audit service would reject.
   */
  publish(record: auditv1.CallRecord, opts?: { deadlineMs?: number; signal?: AbortSignal }): Promise<{ seq: number; duplicate: boolean }>;
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
  const js: JetStreamClient = jetstream(nc);
  const attemptTimeout = opts.attemptTimeoutMs ?? DEFAULT_PUBLISH_ATTEMPT_TIMEOUT_MS;
  const defaultDeadline = opts.deadlineMs ?? DEFAULT_PUBLISH_DEADLINE_MS;
  return {
    async publish(record, o = {}) {
      // Validate exactly as the writer will: a record it would drop must never be acknowledged here.
      const checked = toCallRow({ ...record, time: record.time ? timestampDate(record.time) : undefined });
      if (!checked.ok) throw new InvalidCallRecordError(checked.problem);
      const subject = auditSubject(opts.prefix, record.tenantId, record.clusterId);
      const bytes = toBinary(auditv1.CallRecordSchema, record);
      const end = Date.now() + (o.deadlineMs ?? defaultDeadline);
      let last: unknown;
      for (let attempt = 0; ; attempt++) {
        if (o.signal?.aborted) throw new AuditUnavailableError(o.signal.reason ?? last);
        const left = end - Date.now();
        if (left <= 0) throw new AuditUnavailableError(last);
        try {
          const ack = await js.publish(subject, bytes, { msgID: record.id, timeout: Math.max(50, Math.min(attemptTimeout, left)) });
          return { seq: ack.seq, duplicate: ack.duplicate };
        } catch (err) {
          last = err;
        }
        // Back off a little (NATS restarting, JetStream electing); never past the deadline.
        const pause = Math.min(50 * 2 ** Math.min(attempt, 5), 1_000, Math.max(0, end - Date.now()));
        await new Promise((r) => setTimeout(r, pause));
      }
    },
  };
}
