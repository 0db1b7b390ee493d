import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { planMoves, shareOf, type RebalanceInput, type RebalanceNode } from "./rebalance.js";

const node = (id: string, draining = false, endpoint = `${id}:51820`): RebalanceNode => ({ id, draining, endpoint });
const homed = (spec: Record<string, number>) => Object.entries(spec).flatMap(([n, k]) => Array.from({ length: k }, (_, j) => ({ clusterId: `${n}-c${j}`, homeNode: n })));
const input = (o: Partial<RebalanceInput> & Pick<RebalanceInput, "homes" | "live">): RebalanceInput => ({
  self: "a",
  movable: new Set(o.homes.filter((h) => h.homeNode === (o.self ?? "a")).map((h) => h.clusterId)),
  pending: new Map(),
  perSecond: 2,
  ...o,
});

/** Runs every node's planner in turn until nobody moves; returns the final counts and how many moves were made. */
function settle(live: RebalanceNode[], homes: Array<{ clusterId: string; homeNode: string | null }>, perSecond: number) {
  let moves = 0;
  for (let round = 0; round < 100; round++) {
    let moved = false;
    for (const n of live.filter((x) => !x.draining)) {
      for (const m of planMoves(input({ self: n.id, live, homes, perSecond }))) {
        homes.find((h) => h.clusterId === m.clusterId)!.homeNode = m.to;
        moves++;
        moved = true;
      }
    }
    if (!moved) break;
  }
  const counts = new Map<string, number>();
  for (const h of homes) if (h.homeNode) counts.set(h.homeNode, (counts.get(h.homeNode) ?? 0) + 1);
  return { counts, moves };
}

describe("planMoves", () => {
  it("gives the returning node its share: 3 clusters on 2 nodes end 2 and 1, in one move", () => {
    const live = [node("a"), node("b")];
    assert.deepEqual(planMoves(input({ live, homes: homed({ a: 3 }) })), [{ clusterId: "a-c0", to: "b" }]);
    const { counts, moves } = settle(live, homed({ a: 3 }), 2);
    assert.deepEqual([counts.get("a"), counts.get("b")], [2, 1]);
    assert.equal(moves, 1);
  });

  it("ends within one cluster per node from any start, and the spread only shrinks (no back and forth)", () => {
    const specs: Array<Record<string, number>> = [{ a: 10 }, { a: 7, b: 0, c: 0 }, { a: 2, b: 2, c: 0 }, { a: 5, b: 4, c: 0, d: 0 }, { a: 1, b: 0, c: 0 }];
    for (const spec of specs) {
      const live = Object.keys(spec).map((id) => node(id)).concat(Object.keys(spec).length === 1 ? [node("b"), node("c")] : []);
      const homes = homed(spec);
      const total = homes.length;
      const { counts, moves } = settle(live, homes, 1);
      const values = live.map((n) => counts.get(n.id) ?? 0);
      assert.ok(Math.max(...values) - Math.min(...values) <= 1, `${JSON.stringify(spec)} → ${values}`);
      assert.equal(values.reduce((s, v) => s + v, 0), total);
      assert.ok(Math.max(...values) <= shareOf(live, homes), "nobody above the share");
      // Each move takes one cluster from a node with ≥ 2 more than the target: never more moves than clusters above the floor.
      assert.ok(moves <= total, `${moves} moves`);
    }
  });

  it("never moves to a draining, dead (not live) or endpoint-less node", () => {
    const homes = homed({ a: 4 });
    assert.deepEqual(planMoves(input({ live: [node("a"), node("b", true)], homes })), [], "draining");
    assert.deepEqual(planMoves(input({ live: [node("a")], homes: [...homes, { clusterId: "x", homeNode: "dead" }] })), [], "dead node: not live");
    assert.deepEqual(planMoves(input({ live: [node("a"), node("b", false, "")], homes })), [], "no endpoint to send the edge to");
    assert.deepEqual(
      planMoves(input({ live: [node("a"), node("b", true), node("c")], homes })).map((m) => m.to),
      ["c", "c"],
      "only the sharing node",
    );
  });

  it("moves at most perSecond clusters per call, and none when off", () => {
    const live = [node("a"), node("b"), node("c")];
    assert.equal(planMoves(input({ live, homes: homed({ a: 30 }), perSecond: 2 })).length, 2);
    assert.equal(planMoves(input({ live, homes: homed({ a: 30 }), perSecond: 5 })).length, 5);
    assert.deepEqual(planMoves(input({ live, homes: homed({ a: 30 }), perSecond: 0 })), []);
  });

  it("does nothing when balanced (within one), alone, or draining itself", () => {
    assert.deepEqual(planMoves(input({ live: [node("a"), node("b")], homes: homed({ a: 2, b: 1 }) })), []);
    assert.deepEqual(planMoves(input({ live: [node("a"), node("b")], homes: homed({ a: 3, b: 3 }) })), []);
    assert.deepEqual(planMoves(input({ live: [node("a")], homes: homed({ a: 9 }) })), [], "alone");
    assert.deepEqual(planMoves(input({ live: [node("a", true), node("b")], homes: homed({ a: 9 }) })), [], "a draining node hands everything away by its drain, not here");
  });

  it("counts moves under way at their target and only moves clusters that may move", () => {
    const live = [node("a"), node("b")];
    const homes = homed({ a: 4 });
    // a-c0 is already on its way to b: 3 vs 1 → one more.
    assert.deepEqual(planMoves(input({ live, homes, pending: new Map([["a-c0", "b"]]) })), [{ clusterId: "a-c1", to: "b" }]);
    assert.deepEqual(planMoves(input({ live, homes, pending: new Map([["a-c0", "b"], ["a-c1", "b"]]) })), [], "2 vs 2: done");
    assert.deepEqual(planMoves(input({ live, homes, movable: new Set(["a-c3"]) })), [{ clusterId: "a-c3", to: "b" }], "the one whose edge can move");
    assert.deepEqual(planMoves(input({ live, homes, movable: new Set() })), []);
  });

  it("clusters without a home or homed on a dead node do not count", () => {
    const live = [node("a"), node("b")];
    const homes = [...homed({ a: 2 }), { clusterId: "n", homeNode: null }, { clusterId: "d", homeNode: "dead" }];
    assert.deepEqual(planMoves(input({ live, homes })), [{ clusterId: "a-c0", to: "b" }], "2 vs 0");
    assert.equal(shareOf(live, homes), 1);
  });
});
