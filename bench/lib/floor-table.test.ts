import assert from "node:assert/strict";
import { test } from "node:test";
import { cpuTable, perCall, type Column } from "./floor-table.js";

const d = (rows: Array<[string, number]>, wallSeconds = 2, busy = 3) => ({ rows: rows.map(([label, seconds]) => ({ label, where: label.startsWith("floor-edge") ? "edge netns" : "hub netns", seconds })), wallSeconds, machine: { busy } });

test("per call and per second sums of a group", () => {
  const floor: Column = { title: "floor ms/call", d: d([["floor-gateway", 0.5], ["nats-server", 0.25], ["floor-edge", 0.3]]), show: "ms/call", calls: 1000 };
  const idle: Column = { title: "idle ms/s", d: d([["nats-server", 0.01]], 4), show: "ms/s" };
  assert.equal(perCall(floor, ["floor-gateway", "nats-server"]), 0.75);
  assert.equal(perCall(floor, ["floor-edge"]), 0.3);
  assert.equal(perCall(idle, ["nats-server", "absent"]), 2.5);
});

test("the table lists every label of every column, sorted by the chosen column, then groups and the machine", () => {
  const a: Column = { title: "floor s", d: d([["floor-gateway", 0.5], ["nats-server", 0.25]]), show: "s" };
  const b: Column = { title: "product ms/call", d: d([["gateway", 1.2], ["nats-server", 0.3]], 2, 4), show: "ms/call", calls: 2000 };
  const lines = cpuTable([a, b], [{ name: "FLOOR HUB", labels: ["floor-gateway", "nats-server"] }], b);
  assert.match(lines[0]!, /^ {2}process +where +floor s +product ms\/call$/);
  const names = lines.slice(1).map((l) => l.trim().split(/\s{2,}/)[0]);
  assert.deepEqual(names, ["gateway", "nats-server", "floor-gateway", "FLOOR HUB", "machine busy (/proc/stat)"]);
  assert.match(lines[1]!, /gateway +hub netns +0\.00 +0\.600$/);
  assert.match(lines[4]!, /FLOOR HUB +0\.75 +0\.150$/);
  assert.match(lines[5]!, /all +3\.00 +2\.000$/);
});
