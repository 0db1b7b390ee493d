import { fromBinary } from "@bufbuild/protobuf";
import type { ConsumerMessages, JetStreamClient, JsMsg } from "@nats-io/jetstream";
import { auditv1 } from "@daalu/proto";
import { pgCode, type Failpoints, type Logger } from "@daalu/runtime";
import { parseAuditSubject, toCallRow, uniqueById, type CallRow } from "../../domain/record.js";
import { recordAuditBatch } from "../metrics.js";
import type { AuditStore } from "../pg/store.js";
import { AUDIT_CONSUMER, auditStreamName, HEADER_AUDIT_BATCH } from "./stream.js";

/** Failpoint: die after the batch's transaction committed, before its messages are acked. */
export const FAILPOINT_AFTER_COMMIT = "audit-writer-after-commit";

export interface WriterOptions {
  js: JetStreamClient;
  prefix: string;
  store: AuditStore;
  batchSize: number;
  batchWaitMs: number;
  retryMaxMs: number;
  failpoints: Failpoints;
  logger: Logger;
}

/** Counters of one writer (since start). */
export interface WriterStats {
  batches: number;
  /** Rows inserted. */
  inserted: number;
  /** Records already stored (redelivered or republished): acked, not inserted, not counted. */
  duplicates: number;
  /** Records that can never be stored (undecodable or invalid): terminated. */
  malformed: number;
  /** Failed attempts to write a batch (PostgreSQL unreachable, ...), each retried. */
  failures: number;
}

interface Item {
  msg: JsMsg;
  row: CallRow;
  /** Per message: how many records it carries and how many can never be stored. */
  state: { rows: number; rejected: number; problem: string };
}

const TIMEOUT = Symbol("timeout");

/** SQLSTATE classes of errors that retrying the same rows cannot fix. */
function isPoison(err: unknown): boolean {
  const code = pgCode(err);
  return code !== undefined && (code.startsWith("22") || code.startsWith("23"));
}

/**
 * Moves call records from the durable consumer into PostgreSQL. Batches up to
 * `batchSize` records or `batchWaitMs`, writes each batch in one transaction,
 * and acks only after it committed. While PostgreSQL is unreachable it keeps
 * the batch, tells JetStream it is still working on it, and retries with
 * backoff: records wait in the stream, never in memory alone.
 */
export class AuditWriter {
  readonly stats: WriterStats = { batches: 0, inserted: 0, duplicates: 0, malformed: 0, failures: 0 };
  private readonly stopCtl = new AbortController();
  private messages: ConsumerMessages | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly o: WriterOptions) {}

  start(): void {
    this.running ??= this.run();
  }

  /** Stops pulling, lets the batch in hand finish (or naks it if PostgreSQL is away), and returns. */
  async stop(): Promise<void> {
    this.stopCtl.abort();
    await this.messages?.close().catch(() => undefined);
    await this.running;
  }

  private get stopping(): boolean {
    return this.stopCtl.signal.aborted;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      const signal = this.stopCtl.signal;
      function done() {
        clearTimeout(t);
        signal.removeEventListener("abort", done);
        resolve();
      }
      signal.addEventListener("abort", done, { once: true });
    });
  }

  private async run(): Promise<void> {
    const log = this.o.logger;
    let attempt = 0;
    while (!this.stopping) {
      try {
        const consumer = await this.o.js.consumers.get(auditStreamName(this.o.prefix), AUDIT_CONSUMER);
        this.messages = await consumer.consume({ max_messages: this.o.batchSize });
        attempt = 0;
        await this.pump(this.messages);
      } catch (err) {
        if (this.stopping) break;
        log.warn({ err }, "audit consumer failed; resubscribing");
        await this.sleep(Math.min(100 * 2 ** Math.min(attempt++, 6), this.o.retryMaxMs));
      }
    }
  }

  /** Reads messages into batches until the iterator ends. */
  private async pump(messages: ConsumerMessages): Promise<void> {
    const it = messages[Symbol.asyncIterator]();
    let next: Promise<IteratorResult<JsMsg>> | undefined;
    for (;;) {
      next ??= it.next();
      const first = await next;
      next = undefined;
      if (first.done) return;
      const batch: JsMsg[] = [first.value];
      let ended = false;
      const deadline = Date.now() + this.o.batchWaitMs;
      while (batch.length < this.o.batchSize) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        next ??= it.next();
        let timer: NodeJS.Timeout | undefined;
        const r = await Promise.race([next, new Promise<typeof TIMEOUT>((res) => (timer = setTimeout(() => res(TIMEOUT), left)))]);
        clearTimeout(timer);
        if (r === TIMEOUT) break;
        next = undefined;
        if (r.done) {
          ended = true;
          break;
        }
        batch.push(r.value);
      }
      await this.flush(batch);
      if (ended) return;
    }
  }

  private malformed(msg: JsMsg, problem: string, err?: unknown): void {
    this.stats.malformed++;
    this.o.logger.error({ err, problem, subject: msg.subject, streamSeq: msg.seq }, "malformed call record terminated");
    msg.term(problem.slice(0, 200));
  }

  /** The records one message carries: a CallRecord, or a CallRecordBatch (header Daalu-Audit-Batch). */
  private decode(msg: JsMsg): auditv1.CallRecord[] | undefined {
    const batch = msg.headers?.get(HEADER_AUDIT_BATCH);
    try {
      return batch ? fromBinary(auditv1.CallRecordBatchSchema, msg.data).records : [fromBinary(auditv1.CallRecordSchema, msg.data)];
    } catch (err) {
      this.malformed(msg, batch ? "undecodable CallRecordBatch" : "undecodable CallRecord", err);
      return undefined;
    }
  }

  /**
   * Decodes, validates and writes one batch of messages; acks each message
   * once every row it carries is stored, terminates a message none of whose
   * records can ever be stored. Rows are written in transactions of at most
   * `batchSize` rows (a message may carry many records).
   */
  async flush(batch: readonly JsMsg[]): Promise<void> {
    const items: Item[] = [];
    const settled = new Map<JsMsg, { rows: number; rejected: number; problem: string }>();
    for (const msg of batch) {
      const records = this.decode(msg);
      if (!records) continue;
      if (records.length === 0) {
        this.malformed(msg, "empty CallRecordBatch");
        continue;
      }
      const state = { rows: 0, rejected: 0, problem: "" };
      settled.set(msg, state);
      const scope = parseAuditSubject(msg.subject);
      for (const rec of records) {
        const checked = toCallRow(rec, scope);
        state.rows++;
        if (!checked.ok) {
          this.reject(state, msg, checked.problem);
          continue;
        }
        items.push({ msg, row: checked.value, state });
      }
    }
    const { unique, duplicates } = uniqueById(items);
    for (let i = 0; i < unique.length; i += this.o.batchSize) {
      const written = await this.write(unique.slice(i, i + this.o.batchSize));
      if (!written) {
        // Stopping while PostgreSQL is away: hand the batch back for another replica (or our restart).
        for (const msg of settled.keys()) msg.nak();
        return;
      }
    }
    this.o.failpoints.hit(FAILPOINT_AFTER_COMMIT);
    this.stats.batches++;
    this.stats.duplicates += duplicates.length;
    for (const [msg, st] of settled) {
      if (st.rejected === st.rows) msg.term(st.problem.slice(0, 200));
      else msg.ack();
    }
  }

  /** One record that can never be stored; its message is terminated when all of its records are. */
  private reject(state: Item["state"], msg: JsMsg, problem: string, err?: unknown): void {
    state.rejected++;
    state.problem ||= problem;
    this.stats.malformed++;
    this.o.logger.error({ err, problem, subject: msg.subject, streamSeq: msg.seq }, "malformed call record dropped");
  }

  /**
   * Writes rows until they are stored (acks are flush's). Returns false only
   * when the writer stops before it could. A batch that fails on its data
   * (not on connectivity) is split so that only the bad record is dropped.
   */
  private async write(items: Item[]): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        const inserted = await this.o.store.insertBatch(items.map((i) => i.row));
        this.stats.inserted += inserted.size;
        recordAuditBatch(Math.min(...items.map((i) => i.row.time.getTime())));
        this.stats.duplicates += items.length - inserted.size;
        if (attempt > 0) this.o.logger.info({ attempts: attempt + 1, rows: items.length }, "audit batch written after retries");
        return true;
      } catch (err) {
        if (isPoison(err)) {
          if (items.length === 1) {
            this.reject(items[0]!.state, items[0]!.msg, `rejected by PostgreSQL (${pgCode(err)})`, err);
            return true;
          }
          for (const it of items) if (!(await this.write([it]))) return false;
          return true;
        }
        this.stats.failures++;
        if (this.stopping) return false;
        if (attempt === 0 || attempt % 10 === 0) this.o.logger.warn({ err, attempt, rows: items.length }, "audit batch not written; retrying");
        // Keep JetStream from redelivering what this replica is still holding.
        for (const msg of new Set(items.map((i) => i.msg))) msg.working();
        await this.sleep(Math.min(50 * 2 ** Math.min(attempt, 8), this.o.retryMaxMs));
        if (this.stopping) return false;
      }
    }
  }
}
