import { AckPolicy, DeliverPolicy, DiscardPolicy, JetStreamApiError, RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig } from "@nats-io/jetstream";
import { auditSubject } from "@daalu/runtime";

/** The stream of call records. Stream names cannot contain dots, so the prefix joins with "_". */
export const AUDIT_STREAM = "DAALU_AUDIT";
/** The durable pull consumer every audit replica shares. */
export const AUDIT_CONSUMER = "audit-writer";
/** A record republished within this window (same Nats-Msg-Id) is dropped by JetStream itself. */
export const AUDIT_DUPLICATE_WINDOW_MS = 120_000;
/** Header of a message carrying a CallRecordBatch (value: its record count) instead of one CallRecord. */
export const HEADER_AUDIT_BATCH = "Daalu-Audit-Batch";

const NANOS_PER_MS = 1_000_000;

export function auditStreamName(prefix: string): string {
  return prefix ? `${prefix}_${AUDIT_STREAM}` : AUDIT_STREAM;
}

/**
 * Work-queue retention: a record stays on disk until the writer acks it after
 * its transaction commits, however long the audit service or PostgreSQL is
 * away. Nothing expires by age, so nothing is lost while they are down.
 */
export function auditStreamConfig(prefix: string): Partial<StreamConfig> & { name: string; subjects: string[] } {
  return {
    name: auditStreamName(prefix),
    subjects: [auditSubject(prefix, "*", "*")],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    duplicate_window: AUDIT_DUPLICATE_WINDOW_MS * NANOS_PER_MS,
    num_replicas: 1,
  };
}

function apiCode(err: unknown): number | undefined {
  return err instanceof JetStreamApiError ? err.code : undefined;
}

/**
 * Creates the stream, or brings an existing one to this configuration. Safe
 * to call from every publisher and every audit replica at once.
 */
export async function ensureAuditStream(jsm: JetStreamManager, prefix: string): Promise<void> {
  const cfg = auditStreamConfig(prefix);
  try {
    await jsm.streams.add(cfg);
  } catch (err) {
    // 10058: the name is in use with a different configuration (an older one): update it.
    if (apiCode(err) !== 10058) throw err;
    const { name, retention: _r, storage: _s, ...updatable } = cfg;
    await jsm.streams.update(name, updatable);
  }
}

export interface WriterConsumerOptions {
  /** Outstanding unacked records across every replica. */
  maxAckPending: number;
  /** A record not acked within this time is delivered again (to any replica). */
  ackWaitMs: number;
}

/** Creates the durable writer consumer, or updates its limits. */
export async function ensureAuditConsumer(jsm: JetStreamManager, prefix: string, opts: WriterConsumerOptions): Promise<void> {
  const stream = auditStreamName(prefix);
  const limits = { ack_wait: opts.ackWaitMs * NANOS_PER_MS, max_ack_pending: opts.maxAckPending, max_deliver: -1 };
  try {
    await jsm.consumers.add(stream, { durable_name: AUDIT_CONSUMER, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, ...limits });
  } catch (err) {
    if (apiCode(err) === undefined) throw err;
    await jsm.consumers.update(stream, AUDIT_CONSUMER, limits);
  }
}

/** The writer consumer's backlog (for metrics): records not yet delivered, and delivered but not acknowledged. */
export async function consumerBacklog(jsm: JetStreamManager, prefix: string): Promise<{ waiting: number; unacked: number }> {
  const info = await jsm.consumers.info(auditStreamName(prefix), AUDIT_CONSUMER);
  return { waiting: info.num_pending, unacked: info.num_ack_pending };
}
