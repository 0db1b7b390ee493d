/**
 * The events stream (`DAALU_EVENTS`): JetStream keeps every event peering
 * publishes on `[prefix.]daalu.events.>` (cluster events, alerts) for an hour,
 * so the gateway's live stream (GET /v1/events) can resume a browser tab from
 * the last sequence it saw. Publishers keep publishing on core NATS (no
 * PubAck to wait for on the health sweep's path); the stream captures the
 * subjects. Peering, the publisher, creates it at start, idempotently.
 */
import { DiscardPolicy, JetStreamApiError, RetentionPolicy, StorageType, jetstreamManager, type StreamConfig } from "@nats-io/jetstream";
import { eventSubject, eventsStreamName, type NatsConnection } from "@daalu/runtime";

const NANOS_PER_MS = 1_000_000;
/** How long events stay resumable. */
export const EVENTS_MAX_AGE_MS = 60 * 60 * 1000;
/** A ceiling on the stream's disk use; the oldest events go first. */
export const EVENTS_MAX_BYTES = 512 * 1024 * 1024;

export function eventsStreamConfig(prefix: string): Partial<StreamConfig> & { name: string; subjects: string[] } {
  return {
    name: eventsStreamName(prefix),
    subjects: [eventSubject(prefix, "*", ">")],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: EVENTS_MAX_AGE_MS * NANOS_PER_MS,
    max_bytes: EVENTS_MAX_BYTES,
    num_replicas: 1,
  };
}

/** Creates the stream, or brings an existing one to this configuration (every replica may call it at once). */
export async function ensureEventsStream(nc: NatsConnection, prefix: string): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const cfg = eventsStreamConfig(prefix);
  try {
    await jsm.streams.add(cfg);
  } catch (err) {
    // 10058: the name is in use with a different configuration (an older one): update it.
    if (!(err instanceof JetStreamApiError) || err.code !== 10058) throw err;
    const { name, retention: _r, storage: _s, ...updatable } = cfg;
    await jsm.streams.update(name, updatable);
  }
}
