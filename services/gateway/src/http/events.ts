/**
 * GET /v1/events — the caller's tenant's live events as Server-Sent Events,
 * one stream per browser tab:
 *
 *   event: hello    data: {"seq": N}                        (a fresh stream: events after N follow)
 *   event: reset    data: {"seq": N}                        (the id asked for is gone: refetch, events after N follow)
 *   event: cluster  data: {"kind", "cluster", "time"}       (created, enrolled, key_replaced, deleted, status_changed)
 *   event: alert    data: {"alert"}                         (raised or resolved)
 *   : ping                                                  (every 15 s)
 *
 * Peering publishes the events on `daalu.events.<tenant>.…` and JetStream keeps
 * them an hour in the DAALU_EVENTS stream (peering's events-stream.ts). Each
 * stream here is one ordered consumer on that stream, filtered to the tenant's
 * subjects; the SSE `id:` is the stream sequence, so a tab that reconnects
 * with `Last-Event-ID` (or `?lastEventId=`, since EventSource cannot set
 * headers on its first request) gets exactly the events after it. The
 * consumer is deleted when the client goes away or the gateway closes.
 *
 * Register with `app.register(eventsPlugin, { nc, natsPrefix, logger, heartbeatMs, … })`.
 */
import { once } from "node:events";
import type { ServerResponse } from "node:http";
import { fromBinary } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages, type JetStreamManager, type JsMsg } from "@nats-io/jetstream";
import type { FastifyInstance } from "fastify";
import { peeringv1 } from "@daalu/proto";
import { DaaluError, eventSubject, eventsStreamName, type Logger, type NatsConnection } from "@daalu/runtime";
import { BadRequestError, EventsUnavailableError, TooManyEventStreamsError } from "../errors.js";
import { alertJson, clusterEventKindName, clusterJson } from "./json.js";
import { principalOf } from "./route-kit.js";

export interface EventsOptions {
  nc: NatsConnection;
  natsPrefix: string;
  logger: Logger;
  /** A `: ping` comment this often (GATEWAY_EVENTS_HEARTBEAT, default 15 s). */
  heartbeatMs: number;
  /** Streams open at once, per gateway and per tenant (GATEWAY_EVENTS_MAX_STREAMS{,_PER_TENANT}). */
  maxStreams: number;
  maxStreamsPerTenant: number;
}

const SEQ = "^[0-9]{1,15}$";
export const eventsQuery = {
  type: "object",
  additionalProperties: false,
  properties: { lastEventId: { type: "string", pattern: SEQ, description: "resume after this event id (what Last-Event-ID carries)" } },
} as const;

/** One SSE frame; `data` is JSON on a single line, so no line of it can end the frame early. */
function frame(event: string, data: unknown, id?: number): string {
  return `${id === undefined ? "" : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** The frame for one stream message, or undefined for a subject this stream does not show. */
function eventFrame(m: JsMsg, tenantId: string): string | undefined {
  // Subject: [prefix.]daalu.events.<tenant>.<kind...>; the consumer's filter has checked the tenant.
  const tokens = m.subject.split(".");
  const at = tokens.lastIndexOf("events");
  if (tokens[at + 1] !== tenantId) return undefined;
  const kind = tokens.slice(at + 2).join(".");
  if (kind.startsWith("cluster.")) {
    const ev = fromBinary(peeringv1.ClusterEventSchema, m.data);
    if (ev.tenantId !== tenantId) return undefined;
    return frame("cluster", { kind: clusterEventKindName(ev.kind), cluster: clusterJson(ev.cluster), time: ev.time ? timestampDate(ev.time).toISOString() : null }, m.seq);
  }
  if (kind.startsWith("alert.")) {
    const a = fromBinary(peeringv1.AlertSchema, m.data);
    if (a.tenantId !== tenantId) return undefined;
    return frame("alert", { alert: alertJson(a) }, m.seq);
  }
  return undefined;
}

/**
 * The events stream's newest sequence, read before a list is: the list is then
 * at least as new as every event up to it (peering publishes after it writes),
 * so a tab that fetched it resumes the stream after it (`?lastEventId=`) and
 * misses nothing. GET /v1/clusters carries it as `seq`, like `hello`'s.
 */
export function eventsCursor(nc: NatsConnection, natsPrefix: string): () => Promise<number> {
  const stream = eventsStreamName(natsPrefix);
  let jsm: Promise<JetStreamManager> | undefined;
  return async () => {
    jsm ??= jetstreamManager(nc).catch((err: unknown) => {
      jsm = undefined;
      throw err;
    });
    return (await (await jsm).streams.info(stream)).state.last_seq;
  };
}

/** Where a stream starts: after `lastId` when the stream still holds everything after it, else after the newest. */
export function startOf(lastId: number | undefined, firstSeq: number, lastSeq: number): { from: number; preamble?: "hello" | "reset" } {
  if (lastId === undefined) return { from: lastSeq + 1, preamble: "hello" };
  // Gone: events after lastId were dropped (older than the stream's first), or lastId is from a stream since recreated.
  if (lastId > lastSeq || lastId + 1 < firstSeq) return { from: lastSeq + 1, preamble: "reset" };
  return { from: lastId + 1 };
}

export async function eventsPlugin(app: FastifyInstance, opts: EventsOptions): Promise<void> {
  const log = opts.logger.child({ component: "events" });
  const heartbeatMs = opts.heartbeatMs;
  const stream = eventsStreamName(opts.natsPrefix);
  const js = jetstream(opts.nc);
  let jsm: JetStreamManager | undefined;
  const open = new Set<() => Promise<void>>();
  const perTenant = new Map<string, number>();
  let total = 0;
  // Open streams would keep the server from closing: end them first.
  app.addHook("preClose", async () => {
    await Promise.all([...open].map((end) => end()));
  });

  app.get<{ Querystring: { lastEventId?: string } }>("/v1/events", { schema: { querystring: eventsQuery } }, async (req, reply) => {
    const p = principalOf(req);
    const header = req.headers["last-event-id"];
    const raw = (Array.isArray(header) ? header[0] : header) ?? req.query.lastEventId;
    if (raw !== undefined && !new RegExp(SEQ).test(raw)) throw new BadRequestError("Last-Event-ID must be an event id this stream sent", "INVALID_EVENT_ID");
    const lastId = raw === undefined ? undefined : Number(raw);
    // Each stream holds a consumer on the NATS server: a fair share per tenant, a cap per gateway.
    const mine = perTenant.get(p.tenantId) ?? 0;
    if (mine >= opts.maxStreamsPerTenant) throw new TooManyEventStreamsError(true, opts.maxStreamsPerTenant);
    if (total >= opts.maxStreams) throw new TooManyEventStreamsError(false, opts.maxStreams);
    // Taken before the first await, so concurrent requests cannot overshoot; given back once.
    perTenant.set(p.tenantId, mine + 1);
    total++;
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      total--;
      const n = (perTenant.get(p.tenantId) ?? 1) - 1;
      if (n > 0) perTenant.set(p.tenantId, n);
      else perTenant.delete(p.tenantId);
    };

    let start: ReturnType<typeof startOf>;
    let lastSeq: number;
    let messages: ConsumerMessages;
    let deleteConsumer: () => Promise<unknown>;
    try {
      jsm ??= await jetstreamManager(opts.nc);
      const info = await jsm.streams.info(stream);
      lastSeq = info.state.last_seq;
      start = startOf(lastId, info.state.first_seq, lastSeq);
      const consumer = await js.consumers.get(stream, {
        // One subject as a string (filter_subject): nats-server before 2.10 has no filter_subjects.
        filter_subjects: eventSubject(opts.natsPrefix, p.tenantId, ">"),
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: start.from,
      });
      messages = await consumer.consume();
      deleteConsumer = () => consumer.delete();
    } catch (err) {
      release();
      throw err instanceof DaaluError ? err : new EventsUnavailableError(err);
    }

    const res: ServerResponse = reply.raw;
    let ended = false;
    const end = async () => {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      open.delete(end);
      release();
      req.span?.end(); // a hijacked reply skips onResponse, which ends the others
      await messages.close().catch(() => undefined);
      await deleteConsumer().catch(() => undefined);
      if (!res.writableEnded) res.end();
    };
    open.add(end);
    reply.hijack();
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
      "x-content-type-options": "nosniff",
      // The connection ends with the stream: an idle keep-alive socket left behind would hold up the server's close.
      connection: "close",
      ...(req.span ? { "x-trace-id": req.span.spanContext().traceId } : {}),
    });
    res.on("close", () => void end());
    const write = async (chunk: string) => {
      if (ended) return;
      // A slow reader: stop pulling from the consumer until the socket drains.
      if (!res.write(chunk)) await Promise.race([once(res, "drain"), once(res, "close")]).catch(() => undefined);
    };
    const heartbeat = setInterval(() => void write(": ping\n\n"), heartbeatMs);
    log.debug({ tenantId: p.tenantId, from: start.from, preamble: start.preamble }, "live event stream opened");
    if (start.preamble) await write(frame(start.preamble, { seq: lastSeq }, lastSeq));
    else res.write(": resumed\n\n");
    void (async () => {
      try {
        for await (const m of messages) {
          if (ended) break;
          let f: string | undefined;
          try {
            f = eventFrame(m, p.tenantId);
          } catch (err) {
            log.warn({ err, subject: m.subject, seq: m.seq }, "undecodable event skipped");
          }
          if (f) await write(f);
        }
      } catch (err) {
        log.warn({ err }, "live event stream failed");
      } finally {
        await end();
      }
    })();
  });
}
