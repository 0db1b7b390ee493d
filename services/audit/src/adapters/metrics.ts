/**
 * The audit service's Prometheus metrics: what the writer stored (its own
 * counters, read at scrape time), how far behind the calls it is (set per
 * batch), and how many records wait in the stream (asked of JetStream at
 * scrape time: the consumer is shared by every replica, so every replica
 * reports the same backlog and alerts take the max).
 */
import { counter, gauge, histogram } from "@daalu/runtime";
import type { WriterStats } from "./nats/writer.js";

interface Source {
  stats(): WriterStats;
  /** Records delivered to no replica yet, and delivered but not yet acknowledged. */
  pending(): Promise<{ waiting: number; unacked: number }>;
}

const sources = new Set<Source>();

/** Reports a writer until the returned function is called. */
export function trackAuditWriter(source: Source): () => void {
  sources.add(source);
  return () => void sources.delete(source);
}

const STATS: [keyof WriterStats, string, string][] = [
  ["inserted", "daalu_audit_records_stored_total", "Call records inserted into PostgreSQL"],
  ["duplicates", "daalu_audit_records_duplicate_total", "Call records already stored (redelivered or republished), acknowledged without a row"],
  ["malformed", "daalu_audit_records_malformed_total", "Call records that can never be stored, terminated"],
  ["failures", "daalu_audit_write_failures_total", "Failed attempts to write a batch (each retried)"],
  ["batches", "daalu_audit_batches_total", "Batches written and acknowledged"],
];
for (const [key, name, help] of STATS) {
  counter({
    name,
    help,
    collect() {
      this.reset();
      let n = 0;
      for (const s of sources) n += s.stats()[key];
      this.inc(n);
    },
  });
}

gauge({
  name: "daalu_audit_pending_records",
  help: "Call records in the audit stream not yet stored: waiting (not delivered) and unacked (being written)",
  labelNames: ["state"],
  async collect() {
    this.reset();
    const [first] = sources;
    if (!first) return;
    const p = await first.pending();
    this.labels("waiting").set(p.waiting);
    this.labels("unacked").set(p.unacked);
  },
});

const lag = histogram({
  name: "daalu_audit_write_lag_seconds",
  help: "From a call's time to its record stored in PostgreSQL, per stored batch (its oldest record)",
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
});
const lastLag = gauge({ name: "daalu_audit_last_write_lag_seconds", help: "The write lag of the newest stored batch (its oldest record)" });

/** One batch stored: the lag of its oldest record. */
export function recordAuditBatch(oldestCallMs: number, now = Date.now()): void {
  const s = Math.max(0, now - oldestCallMs) / 1000;
  lag.observe(s);
  lastLag.set(s);
}
