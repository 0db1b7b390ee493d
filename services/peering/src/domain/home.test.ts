import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { edgeEndpoints, evaluatorOf, orphanOwner, shouldClaim } from "./home.js";

describe("evaluatorOf", () => {
  const live = [
    { id: "hub-b", draining: false },
    { id: "hub-a", draining: false },
  ];
  it("is the home while its heartbeat is live", () => {
    assert.equal(evaluatorOf("hub-b", live), "hub-b");
  });
  it("is the lowest live id for a cluster with no home or a stale one", () => {
    assert.equal(evaluatorOf(null, live), "hub-a");
    assert.equal(evaluatorOf("hub-gone", live), "hub-a");
  });
  it("skips a draining node for orphans unless every live node drains", () => {
    assert.equal(orphanOwner([{ id: "hub-a", draining: true }, { id: "hub-b", draining: false }]), "hub-b");
    assert.equal(orphanOwner([{ id: "hub-a", draining: true }, { id: "hub-b", draining: true }]), "hub-a");
    // A draining home still evaluates its own clusters until another node claims them.
    assert.equal(evaluatorOf("hub-a", [{ id: "hub-a", draining: true }, { id: "hub-b", draining: false }]), "hub-a");
  });
  it("is nobody when no node is live", () => {
    assert.equal(evaluatorOf("hub-a", []), undefined);
  });
});

describe("shouldClaim", () => {
  const base = { nodeId: "hub-b", draining: false, handshakeMs: 2_000, homeNode: "hub-a", homeSinceMs: 1_000 };
  it("claims on a handshake newer than the home's", () => assert.equal(shouldClaim(base), true));
  it("never on an older or equal handshake (the edge is elsewhere)", () => {
    assert.equal(shouldClaim({ ...base, handshakeMs: 1_000 }), false);
    assert.equal(shouldClaim({ ...base, handshakeMs: 500 }), false);
  });
  it("never when already home, without a handshake, or draining", () => {
    assert.equal(shouldClaim({ ...base, homeNode: "hub-b" }), false);
    assert.equal(shouldClaim({ ...base, handshakeMs: 0, homeSinceMs: 0 }), false);
    assert.equal(shouldClaim({ ...base, draining: true }), false);
  });
  it("claims a cluster that has no home yet", () => assert.equal(shouldClaim({ ...base, homeNode: null, homeSinceMs: 0 }), true));
});

describe("edgeEndpoints", () => {
  it("keeps the configured order, adds live nodes not in it, leaves draining nodes out", () => {
    const live = [
      { id: "hub-a", draining: false, endpoint: "a:51820" },
      { id: "hub-b", draining: true, endpoint: "b:51820" },
      { id: "hub-c", draining: false, endpoint: "c:51820" },
      { id: "hub-d", draining: false, endpoint: "" },
    ];
    assert.deepEqual(edgeEndpoints(["b:51820", "a:51820"], live), ["a:51820", "c:51820"]);
    assert.deepEqual(edgeEndpoints(["x:1"], []), ["x:1"]);
  });
});
