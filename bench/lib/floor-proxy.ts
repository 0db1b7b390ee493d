/**
 * The floor's tunnel-proxy (bench proxy-floor): a NATS queue subscription;
 * per message one frame (id + the request's bytes) on ONE long-lived grpc-js
 * bidi stream to the floor's edge (through the world's WireGuard); on the
 * answer frame, a ~300-byte record to the floor's own file stream (with a
 * Nats-Msg-Id, grouped under load as the product's audit publisher groups
 * them, PubAck on the shared inbox as its publishForAck), and only after its
 * PubAck the reply. The
 * channel options are the product's mux client's. Creates the stream and the
 * writer's durable consumer before it reports ready.
 *
 *   FLOOR_NATS_URL FLOOR_EDGE_ADDR (host:port)  -> logs {"msg":"ready"}
 */
import { AckPolicy, DeliverPolicy, jetstreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { connectNats, createLogger, grpc, publishForAck, type NatsConnection } from "@daalu/runtime";
import { auditRecord, decodeAnswer, decodeCall, encodeAnswer, FLOOR_AUDIT_SUBJECT, FLOOR_CONSUMER, FLOOR_MUX_PATH, FLOOR_STREAM, FLOOR_SUBJECT, frame, unframe } from "./floor-wire.js";

type SubOpts = NonNullable<Parameters<NatsConnection["subscribe"]>[1]>;
type Msg = Parameters<NonNullable<SubOpts["callback"]>>[1];

const env = process.env;
const logger = createLogger("floor-proxy", env["LOG_LEVEL"] ?? "info");
const edgeAddr = env["FLOOR_EDGE_ADDR"]!;
const nc = await connectNats(env["FLOOR_NATS_URL"]!, "floor-proxy", logger);
const jsm = await jetstreamManager(nc);
// Work-queue file stream, as the product's audit stream; two minutes of Nats-Msg-Id deduplication.
await jsm.streams.add({ name: FLOOR_STREAM, subjects: [FLOOR_AUDIT_SUBJECT], retention: RetentionPolicy.Workqueue, storage: StorageType.File, duplicate_window: 120_000_000_000 });
await jsm.consumers.add(FLOOR_STREAM, { durable_name: FLOOR_CONSUMER, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All });

const client = new grpc.Client(edgeAddr, grpc.credentials.createInsecure(), {
  "grpc.keepalive_time_ms": 20_000,
  "grpc.keepalive_timeout_ms": 10_000,
  "grpc.max_receive_message_length": 16 * 1024 * 1024,
  "grpc.enable_channelz": 0,
  "grpc-node.flow_control_window": 16 * 1024 * 1024,
});
await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 30_000, (err) => (err ? reject(err) : resolve())));
const asIs = (b: Buffer) => b;
const stream = client.makeBidiStreamRequest(FLOOR_MUX_PATH, asIs, asIs, new grpc.Metadata(), {});
stream.on("error", (err: Error) => {
  logger.error({ err }, "the mux stream failed");
  process.exit(1);
});

/**
 * Records go out as the product's audit publisher sends them (@daalu/audit createAuditPublisher): the first at
 * once, and while one message waits for its PubAck the next records queue and then leave together as one message
 * (a JSON array here), so under load one PubAck accepts many; each answer goes out only after its record's PubAck (a 503 instead when none came).
 */
const queued: { record: Buffer; answer(err?: Error): void }[] = [];
let inFlight = false;
function sendQueued(): void {
  if (inFlight || queued.length === 0) return;
  const group = queued.splice(0, 64);
  inFlight = true;
  const body = group.length === 1 ? group[0]!.record : Buffer.concat([Buffer.from("["), ...group.flatMap((g, i) => (i ? [Buffer.from(","), g.record] : [g.record])), Buffer.from("]")]);
  publishForAck(nc, FLOOR_AUDIT_SUBJECT, body, { msgID: `${process.pid}-${++groups}`, timeoutMs: 5_000 }).then(
    () => group.forEach((g) => g.answer()),
    (err: Error) => group.forEach((g) => g.answer(err)),
  ).finally(() => {
    inFlight = false;
    sendQueued();
  });
}
let groups = 0;

const pending = new Map<number, { msg: Msg; path: string; at: number }>();
let seq = 0;
stream.on("data", (b: Buffer) => {
  const { id, payload } = unframe(b);
  const p = pending.get(id);
  if (!p) return;
  pending.delete(id);
  const a = decodeAnswer(payload);
  const record = auditRecord({ id: `${process.pid}-${id}`, path: p.path, status: a.status, bytes: a.body.length, startedAt: p.at, endedAt: Date.now() });
  queued.push({ record, answer: (err) => p.msg.respond(err ? encodeAnswer(503, Buffer.from(`audit record not stored: ${err.message}`)) : payload) });
  sendQueued();
});

nc.subscribe(FLOOR_SUBJECT, {
  queue: "floor",
  callback: (err, msg) => {
    if (err) return logger.error({ err }, "subscription failed");
    const id = (seq = (seq + 1) >>> 0);
    pending.set(id, { msg, path: decodeCall(msg.data).path, at: Date.now() });
    stream.write(frame(id, msg.data));
  },
});
await nc.flush();
logger.info({ edge: edgeAddr }, "ready");
for (const sig of ["SIGTERM", "SIGINT"] as const) process.once(sig, () => process.exit(0));
