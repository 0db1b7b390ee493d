/**
 * The floor's audit writer (bench proxy-floor): the floor stream's durable
 * pull consumer (consume, up to 500 messages pulled at a time, as the
 * product's writer), its records gathered as the product's writer gathers
 * them (up to 500, or 250 ms after the first), written with one multi-row
 * INSERT per batch (a prepared statement over unnest) into the run's
 * database, then each message of
 * the batch acked (a work-queue stream, as the product's, takes explicit
 * acks only; nats.js writes a turn's acks in one write, coalesced). While a
 * batch is being written, the next one gathers.
 *
 *   FLOOR_NATS_URL FLOOR_DATABASE_URL  -> logs {"msg":"ready"}
 */
import { jetstream, type JsMsg } from "@nats-io/jetstream";
import pg from "pg";
import { connectNats, createLogger } from "@daalu/runtime";
import { FLOOR_CONSUMER, FLOOR_STREAM, FLOOR_TABLE } from "./floor-wire.js";

const BATCH = 500;
const BATCH_WAIT_MS = 250;
const env = process.env;
const logger = createLogger("floor-audit", env["LOG_LEVEL"] ?? "info");
const nc = await connectNats(env["FLOOR_NATS_URL"]!, "floor-audit", logger);
const db = new pg.Pool({ connectionString: env["FLOOR_DATABASE_URL"]!, application_name: "floor-audit", max: 1 });
await db.query(`create table if not exists ${FLOOR_TABLE} (msg_id text primary key, record bytea not null, written_at timestamptz not null default now())`);
const insert = `insert into ${FLOOR_TABLE} (msg_id, record) select * from unnest($1::text[], $2::bytea[]) on conflict (msg_id) do nothing`;

const consumer = await jetstream(nc).consumers.get(FLOOR_STREAM, FLOOR_CONSUMER);
const messages = await consumer.consume({ max_messages: BATCH });
const gathered: JsMsg[] = [];
let writing = false;
let timer: NodeJS.Timeout | undefined;

async function write(): Promise<void> {
  clearTimeout(timer);
  timer = undefined;
  if (writing || gathered.length === 0) return;
  writing = true;
  const batch = gathered.splice(0, BATCH);
  try {
    // One row per call record; a message carries one record or a JSON array of them (floor-proxy groups them).
    const records = batch.flatMap((m) => {
      const v = JSON.parse(Buffer.from(m.data).toString("utf8")) as { id: string } | { id: string }[];
      return Array.isArray(v) ? v : [v];
    });
    await db.query({ name: "floor-insert", text: insert, values: [records.map((r) => r.id), records.map((r) => Buffer.from(JSON.stringify(r)))] });
    for (const m of batch) m.ack();
  } catch (err) {
    // Not acked: JetStream delivers them again after ack_wait.
    logger.error({ err, records: batch.length }, "batch not written");
  } finally {
    writing = false;
    if (gathered.length) schedule();
  }
}
/** A full batch goes at once, a partial one BATCH_WAIT_MS after it began. */
function schedule(): void {
  if (gathered.length >= BATCH) void write();
  else timer ??= setTimeout(() => void write(), BATCH_WAIT_MS);
}

logger.info("ready");
for (const sig of ["SIGTERM", "SIGINT"] as const) process.once(sig, () => process.exit(0));
for await (const m of messages) {
  gathered.push(m);
  schedule();
}
