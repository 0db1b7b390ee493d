import { fromBinary } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { ConsumerMessages, JetStreamClient, JsMsg } from "@nats-io/jetstream";
import { auditv1 } from "@daalu/proto";
import { pgCode, type Failpoints, type Logger } from "@daalu/runtime";
import { parseAuditSubject, toCallRow, uniqueById, type CallRow } from "../../domain/record.js";
import type { AuditStore } from "../pg/store.js";
import { AUDIT_CONSUMER, auditStreamName } from "./stream.js";

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

  /** Decodes, validates and writes one batch; acks what was stored, terminates what never can be. */
  async flush(batch: readonly JsMsg[]): Promise<void> {
    const items: Item[] = [];
    for (const msg of batch) {
      let rec: auditv1.CallRecord;
      try {
        rec = fromBinary(auditv1.CallRecordSchema, msg.data);
      } catch (err) {
        this.malformed(msg, "undecodable CallRecord", err);
        continue;
      }
      let time: Date | undefined;
      try {
        time = rec.time ? timestampDate(rec.time) : undefined;
      } catch {
        time = undefined;
      }
      const checked = toCallRow({ ...rec, time }, parseAuditSubject(msg.subject));
      if (!checked.ok) {
        this.malformed(msg, checked.problem);
        continue;
      }
      items.push({ msg, row: checked.value });
    }
    const { unique, duplicates } = uniqueById(items);
    if (unique.length > 0) {
      const written = await this.write(unique);
      if (!written) {
        // Stopping while PostgreSQL is away: hand the batch back for another replica (or our restart).
        for (const it of items) it.msg.nak();
        return;
      }
    }
    this.stats.batches++;
    this.stats.duplicates += duplicates.length;
    for (const d of duplicates) d.msg.ack();
  }

  /**
   * Writes rows until they are stored, then acks them. Returns false only when
   * the writer stops before it could. A batch that fails on its data (not on
   * connectivity) is split so that the one bad record is terminated alone.
   */
  private async write(items: Item[]): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        const inserted = await this.o.store.insertBatch(items.map((i) => i.row));
        this.stats.inserted += inserted.size;
        this.stats.duplicates += items.length - inserted.size;
        this.o.failpoints.hit(FAILPOINT_AFTER_COMMIT);
        for (const it of items) it.msg.ack();
        if (attempt > 0) this.o.logger.info({ attempts: attempt + 1, rows: items.length }, "audit batch written after retries");
        return true;
      } catch (err) {
        if (isPoison(err)) {
          if (items.length === 1) {
            this.malformed(items[0]!.msg, `rejected by PostgreSQL (${pgCode(err)})`, err);
            return true;
          }
          for (const it of items) if (!(await this.write([it]))) return false;
          return true;
        }
        this.stats.failures++;
        if (this.stopping) return false;
        if (attempt === 0 || attempt % 10 === 0) this.o.logger.warn({ err, attempt, rows: items.length }, "audit batch not written; retrying");
        // Keep JetStream from redelivering what this replica is still holding.
        for (const it of items) it.msg.working();
        await this.sleep(Math.min(50 * 2 ** Math.min(attempt, 8), this.o.retryMaxMs));
        if (this.stopping) return false;
      }
    }
  }
}
