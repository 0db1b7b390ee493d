// The clusters list and the event stream: no duplicate row from a replayed
// event, no older status over a newer one, no deleted row brought back, and no
// event lost to a list that was fetched while it arrived.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Cluster } from "../src/api.js";
import { applyEvent, applyList, type MergeMemory } from "../src/live-merge.js";

const c = (id: string, status: string, since: string): Cluster => ({ id, name: id, tunnelIp: null, status, lastHandshake: null, edgeVersion: null, apiReachable: status === "connected", diagnostic: null, createdAt: null, enrolledAt: null, statusSince: since });
const mem = (): MergeMemory => ({ deleted: new Set(), touched: new Set() });
const T1 = "2026-01-01T12:00:01Z";
const T2 = "2026-01-01T12:00:02Z";

test("a replayed event changes nothing and makes no second row", () => {
  const m = mem();
  let rows = applyEvent(new Map(), { kind: "created", cluster: c("a", "awaiting_handshake", T1) }, m);
  rows = applyEvent(rows, { kind: "status_changed", cluster: c("a", "connected", T2) }, m);
  const again = applyEvent(rows, { kind: "created", cluster: c("a", "awaiting_handshake", T1) }, m);
  assert.equal(again.size, 1);
  assert.equal(again.get("a")!.status, "connected", "the older status does not win");
  assert.equal(applyEvent(again, { kind: "status_changed", cluster: c("a", "connected", T2) }, m).get("a")!.status, "connected");
});

test("a deleted cluster stays deleted, whatever arrives late", () => {
  const m = mem();
  let rows = applyEvent(new Map(), { kind: "created", cluster: c("a", "connected", T1) }, m);
  rows = applyEvent(rows, { kind: "deleted", cluster: c("a", "connected", T1) }, m);
  assert.equal(rows.size, 0);
  rows = applyEvent(rows, { kind: "status_changed", cluster: c("a", "disconnected", T2) }, m);
  assert.equal(rows.size, 0);
  m.touched.clear(); // a list fetched later, from before the deletion, still has it
  assert.equal(applyList(rows, [c("a", "connected", T1)], { ...m, touched: new Set(["a"]) }).size, 0);
});

test("a list fetched while events arrived keeps what the events said", () => {
  const m = mem();
  // The fetch starts (touched cleared), events arrive, then the older list lands.
  let rows = new Map([["a", c("a", "connected", T1)]]);
  m.touched.clear();
  rows = applyEvent(rows, { kind: "status_changed", cluster: c("a", "disconnected", T2) }, m);
  rows = applyEvent(rows, { kind: "created", cluster: c("b", "awaiting_handshake", T2) }, m);
  const merged = applyList(rows, [c("a", "connected", T1)], m);
  assert.equal(merged.get("a")!.status, "disconnected");
  assert.ok(merged.has("b"), "the row an event created is kept");
  // Without events meanwhile, the list is the truth (a row gone from it is gone).
  assert.deepEqual([...applyList(merged, [c("b", "connected", T2)], mem()).keys()], ["b"]);
});
