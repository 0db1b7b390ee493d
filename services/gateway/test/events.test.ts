/**
 * GET /v1/events against the real peering, invite and gateway services: the
 * tenant's cluster and alert events as Server-Sent Events, resumable from
 * Last-Event-ID without loss or duplicates, a reset for an id the stream no
 * longer holds, another tenant's events never shown, and the JetStream
 * consumer gone when the client goes.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { peeringv1 } from "@daalu/proto";
import { eventSubject, eventsStreamName } from "@daalu/runtime";
import { eventually, setup, type TestEnv } from "@daalu/testing";
import { assertProblem, http, seedTenant, startStack, type Tokens } from "./helpers.js";
import type { RunningGateway } from "../src/service.js";

interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

/** An open event stream: the frames read so far (comments left out) and a way to hang up. */
interface Sse {
  status: number;
  type: string;
  events: SseEvent[];
  comments: string[];
  /** Resolves when the server ends the stream (or close() hangs up). */
  ended: Promise<void>;
  close(): void;
}

/** Opens GET /v1/events and reads frames as they come (the text/event-stream framing: fields, blank line). */
async function openSse(base: string, token: string, headers: Record<string, string> = {}, query = ""): Promise<Sse> {
  const ac = new AbortController();
  const res = await fetch(`${base}/v1/events${query}`, { headers: { authorization: `Bearer ${token}`, ...headers }, signal: ac.signal });
  const out: Sse = { status: res.status, type: res.headers.get("content-type") ?? "", events: [], comments: [], ended: Promise.resolve(), close: () => ac.abort() };
  if (!res.ok || !res.body) return out;
  out.ended = (async () => {
    const dec = new TextDecoder();
    let buf = "";
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += dec.decode(chunk, { stream: true });
        let i: number;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev: SseEvent = { event: "message", data: "" };
          let isEvent = false;
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) out.comments.push(line.slice(1).trim());
            else {
              const at = line.indexOf(": ");
              const [k, v] = at < 0 ? [line, ""] : [line.slice(0, at), line.slice(at + 2)];
              if (k === "id") ev.id = v;
              else if (k === "event") ev.event = v;
              else if (k === "data") ev.data += v;
              isEvent = true;
            }
          }
          if (isEvent) out.events.push(ev);
        }
      }
    } catch {
      // aborted by close()
    }
  })();
  return out;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the events' JSON, read field by field
const data = (e: SseEvent): any => JSON.parse(e.data);
const clusterEvents = (s: Sse) => s.events.filter((e) => e.event === "cluster");

let env: TestEnv;
let gw: RunningGateway;
let stopStack: () => Promise<void>;
let acme: Tokens;
let globex: Tokens;
let jsm: JetStreamManager;
const streams: Sse[] = [];

before(async () => {
  env = await setup();
  acme = await seedTenant(env, "acme");
  globex = await seedTenant(env, "globex");
  const s = await startStack(env, { gateway: { GATEWAY_EVENTS_HEARTBEAT: "300ms", GATEWAY_EVENTS_MAX_STREAMS_PER_TENANT: "3" } });
  gw = s.gw;
  stopStack = s.stop;
  jsm = await jetstreamManager(env.nc);
});
let leftOpen: Sse | undefined;
after(async () => {
  for (const s of streams) if (s !== leftOpen) s.close();
  // The gateway ends a stream still open when it closes: stopping must not hang on it, and the client sees the end.
  await stopStack?.();
  await leftOpen?.ended;
  await env?.cleanup();
}, { timeout: 60_000 });

async function sse(token: string, headers: Record<string, string> = {}, query = ""): Promise<Sse> {
  const s = await openSse(gw.url, token, headers, query);
  streams.push(s);
  return s;
}
const addCluster = async (name: string, token = acme.admin) => {
  const r = await http(gw.url, "POST", "/v1/clusters", { token, json: { name } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.cluster as { id: string; name: string };
};
const consumers = async () => {
  const list = await jsm.consumers.list(eventsStreamName(env.prefix)).next();
  return list.length;
};

/** What the hub node publishes when a cluster's status changes (hub-node.ts evaluate()). */
/** A status_changed event as peering's hub node publishes it; an edge version judged "update available" against 0.2.0. */
function publishStatus(tenantId: string, row: { id: string; name: string }, status: peeringv1.ClusterStatus, edgeVersion: string, diagnostic: string): void {
  const judged = { edgeSupport: peeringv1.EdgeSupport.UPDATE_AVAILABLE, updateAvailable: true, latestEdgeVersion: "0.2.0", minEdgeVersion: "0.0.1", upgradeCommand: "helm upgrade daalu-edge x" };
  const cluster = create(peeringv1.ClusterSchema, { id: row.id, tenantId, name: row.name, status, edgeVersion, diagnostic, tunnelIp: "10.100.0.1", statusSince: timestampFromDate(new Date()), ...judged });
  const ev = create(peeringv1.ClusterEventSchema, { tenantId, clusterId: row.id, kind: peeringv1.ClusterEventKind.STATUS_CHANGED, cluster, time: timestampFromDate(new Date()) });
  env.nc.publish(eventSubject(env.prefix, tenantId, "cluster.status_changed"), toBinary(peeringv1.ClusterEventSchema, ev));
}

test("a tenant's stream: hello, then created, status_changed, alert and deleted; another tenant sees none of it", { timeout: 60_000 }, async () => {
  const a = await sse(acme.viewer);
  const b = await sse(globex.viewer);
  assert.equal(a.status, 200);
  assert.match(a.type, /^text\/event-stream/);
  await eventually(() => assert.equal(a.events[0]?.event, "hello"));
  await eventually(() => assert.equal(b.events[0]?.event, "hello"));
  const hello = data(a.events[0]!);
  assert.equal(typeof hello.seq, "number");
  assert.equal(a.events[0]!.id, String(hello.seq), "the hello's id resumes after it");
  await eventually(() => assert.ok(a.comments.includes("ping"), "a heartbeat comment (GATEWAY_EVENTS_HEARTBEAT)"));

  const row = await addCluster("prod-eu-1");
  await eventually(() => assert.equal(clusterEvents(a).length, 1));
  const created = data(clusterEvents(a)[0]!);
  assert.equal(created.kind, "created");
  assert.equal(created.cluster.id, row.id);
  assert.equal(created.cluster.status, "pending_enrollment");
  assert.equal(created.cluster.openAlerts, 0);
  assert.equal(created.cluster.updateAvailable, false);
  assert.match(created.cluster.latestEdgeVersion, /^\d+\.\d+\.\d+/);
  assert.ok(Number(clusterEvents(a)[0]!.id) > hello.seq, "ids are stream sequences after the hello's");
  // The row in the event is the row GET /v1/clusters/:id shows.
  const got = await http(gw.url, "GET", `/v1/clusters/${row.id}`, { token: acme.viewer });
  assert.deepEqual(created.cluster, got.body.cluster);

  publishStatus("acme", row, peeringv1.ClusterStatus.CONNECTED, "0.0.1", "");
  await eventually(() => assert.equal(clusterEvents(a).length, 2));
  const changed = data(clusterEvents(a)[1]!);
  assert.deepEqual(
    [changed.kind, changed.cluster.status, changed.cluster.edgeVersion, changed.cluster.updateAvailable, changed.cluster.edgeSupport, changed.cluster.latestEdgeVersion, changed.cluster.upgradeCommand],
    ["status_changed", "connected", "0.0.1", true, "update_available", "0.2.0", "helm upgrade daalu-edge x"],
    "the row as peering judged it",
  );
  assert.ok(!Number.isNaN(Date.parse(changed.time)));

  const alert = create(peeringv1.AlertSchema, { id: "4f1e0c4e-0000-4000-8000-000000000001", tenantId: "acme", clusterId: row.id, clusterName: row.name, severity: peeringv1.AlertSeverity.CRITICAL, summary: "no WireGuard handshake for 15m", diagnostic: "no handshake", raisedAt: timestampFromDate(new Date()) });
  env.nc.publish(eventSubject(env.prefix, "acme", "alert.critical"), toBinary(peeringv1.AlertSchema, alert));
  await eventually(() => assert.ok(a.events.some((e) => e.event === "alert"), JSON.stringify(a.events)));
  const al = data(a.events.find((e) => e.event === "alert")!).alert;
  assert.deepEqual([al.clusterId, al.clusterName, al.severity, al.summary, al.resolvedAt], [row.id, "prod-eu-1", "critical", "no WireGuard handshake for 15m", null]);

  assert.equal((await http(gw.url, "DELETE", `/v1/clusters/${row.id}`, { token: acme.admin })).status, 200);
  await eventually(() => assert.equal(clusterEvents(a).length, 3));
  assert.deepEqual([data(clusterEvents(a)[2]!).kind, data(clusterEvents(a)[2]!).cluster.id], ["deleted", row.id]);

  // globex got its hello and nothing of acme's; its own cluster reaches it (so the stream works).
  assert.deepEqual(b.events.map((e) => e.event), ["hello"]);
  const own = await addCluster("globex-1", globex.admin);
  await eventually(() => assert.equal(clusterEvents(b).length, 1));
  assert.equal(data(clusterEvents(b)[0]!).cluster.id, own.id);
  assert.equal(clusterEvents(a).length, 3, "acme sees nothing of globex");
  a.close();
  b.close();
});

test("resume from Last-Event-ID: exactly the missed events, in order, no duplicates (header or ?lastEventId=)", { timeout: 60_000 }, async () => {
  const s1 = await sse(acme.viewer);
  await eventually(() => assert.equal(s1.events[0]?.event, "hello"));
  await addCluster("r-1");
  await eventually(() => assert.equal(clusterEvents(s1).length, 1));
  const lastId = clusterEvents(s1)[0]!.id!;
  s1.close();

  // Missed while away: two created rows (and one of globex, which acme must not get).
  const r2 = await addCluster("r-2");
  await addCluster("g-2", globex.admin);
  const r3 = await addCluster("r-3");

  const resumed = [await sse(acme.viewer, { "last-event-id": lastId }), await sse(acme.viewer, {}, `?lastEventId=${lastId}`)];
  for (const s2 of resumed) {
    await eventually(() => assert.equal(clusterEvents(s2).length, 2));
    assert.equal(s2.events.filter((e) => e.event === "hello" || e.event === "reset").length, 0, "a resume sends no hello");
    assert.deepEqual(clusterEvents(s2).map((e) => data(e).cluster.id), [r2.id, r3.id]);
    const ids = clusterEvents(s2).map((e) => Number(e.id));
    assert.ok(ids[0]! > Number(lastId) && ids[1]! > ids[0]!);
  }
  // Live events keep coming on the resumed streams, once each.
  const r4 = await addCluster("r-4");
  for (const s2 of resumed) {
    await eventually(() => assert.deepEqual(clusterEvents(s2).map((e) => data(e).cluster.id), [r2.id, r3.id, r4.id]));
    assert.equal(new Set(clusterEvents(s2).map((e) => e.id)).size, 3, "no duplicates");
    s2.close();
  }
});

test("GET /v1/clusters says how new its list is (seq): a stream resumed after it misses nothing and repeats nothing", { timeout: 60_000 }, async () => {
  const s = await sse(acme.viewer);
  await eventually(() => assert.equal(s.events[0]?.event, "hello"));
  const hello = Number(data(s.events[0]!).seq);
  const q1 = await addCluster("q-1");
  await eventually(() => assert.ok(clusterEvents(s).some((e) => data(e).cluster.id === q1.id)));
  const q1Id = Number(clusterEvents(s).find((e) => data(e).cluster.id === q1.id)!.id);
  s.close();

  const list = await http(gw.url, "GET", "/v1/clusters", { token: acme.viewer });
  assert.equal(list.status, 200);
  const seq = list.body.seq as number;
  assert.equal(typeof seq, "number");
  assert.ok(seq >= q1Id && q1Id > hello, `list seq ${seq}, q-1's event ${q1Id}, hello ${hello}`);
  assert.ok((list.body.clusters as { id: string }[]).some((c) => c.id === q1.id), "every event up to seq is in the list");

  // Changed after the list: a stream resumed after its seq brings exactly that, not q-1 again.
  const q2 = await addCluster("q-2");
  const resumed = await sse(acme.viewer, {}, `?lastEventId=${seq}`);
  await eventually(() => assert.equal(clusterEvents(resumed).length, 1));
  assert.deepEqual(clusterEvents(resumed).map((e) => data(e).cluster.id), [q2.id]);
  assert.equal(resumed.events.filter((e) => e.event === "hello" || e.event === "reset").length, 0);
  resumed.close();
});

test("an id the stream no longer holds (or never had) gets a reset, then live events", { timeout: 60_000 }, async () => {
  const name = eventsStreamName(env.prefix);
  await addCluster("old-1");
  const before = (await jsm.streams.info(name)).state.last_seq;
  await jsm.streams.purge(name); // what max age does to events older than an hour
  const s = await sse(acme.viewer, { "last-event-id": String(before - 1) });
  await eventually(() => assert.equal(s.events[0]?.event, "reset"));
  assert.deepEqual(data(s.events[0]!), { seq: before });
  const row = await addCluster("after-reset");
  await eventually(() => assert.equal(clusterEvents(s).at(-1) && data(clusterEvents(s).at(-1)!).cluster.id, row.id));
  s.close();

  const future = await sse(acme.viewer, { "last-event-id": String(before + 1_000_000) });
  await eventually(() => assert.equal(future.events[0]?.event, "reset"));
  future.close();
});

test("a client that goes away frees its consumer; bad ids and missing tokens are refused", { timeout: 60_000 }, async () => {
  await eventually(async () => assert.equal(await consumers(), 0), { timeoutMs: 20_000 });
  const s = await sse(acme.viewer);
  await eventually(() => assert.equal(s.events[0]?.event, "hello"));
  const t = await sse(globex.viewer);
  await eventually(() => assert.equal(t.events[0]?.event, "hello"));
  assert.equal(await consumers(), 2, "one ordered consumer per open stream");
  s.close();
  await eventually(async () => assert.equal(await consumers(), 1));
  t.close();
  await eventually(async () => assert.equal(await consumers(), 0));

  // A tenant's fair share of streams (GATEWAY_EVENTS_MAX_STREAMS_PER_TENANT=3 here); another tenant is not affected.
  const three = [await sse(acme.viewer), await sse(acme.viewer), await sse(acme.viewer)];
  for (const x of three) await eventually(() => assert.equal(x.events[0]?.event, "hello"));
  assertProblem(await http(gw.url, "GET", "/v1/events", { token: acme.viewer }), 429, "EVENTS_TENANT_BUSY");
  const other = await sse(globex.viewer);
  await eventually(() => assert.equal(other.events[0]?.event, "hello"));
  for (const x of [...three, other]) x.close();
  await eventually(async () => assert.equal(await consumers(), 0));

  // Left open on purpose: the gateway must end it when it closes (see after()).
  leftOpen = await sse(acme.viewer);
  await eventually(() => assert.equal(leftOpen!.events[0]?.event, "hello"));

  assertProblem(await http(gw.url, "GET", "/v1/events"), 401, "UNAUTHENTICATED");
  assertProblem(await http(gw.url, "GET", "/v1/events", { token: acme.viewer, headers: { "last-event-id": "abc" } }), 400, "INVALID_EVENT_ID");
  assertProblem(await http(gw.url, "GET", "/v1/events?lastEventId=-1", { token: acme.viewer }), 400, "INVALID_REQUEST");
});
