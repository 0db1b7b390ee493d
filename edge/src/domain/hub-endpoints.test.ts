import { test } from "node:test";
import assert from "node:assert/strict";
import { acceptedMove, configuredEndpoints, learnedEndpoints, nextEndpoint } from "./hub-endpoints.js";

test("configuredEndpoints: the list when the hub sent one, else the single endpoint of an older hub", () => {
  assert.deepEqual(configuredEndpoints({ hubEndpoint: "a:1", hubEndpoints: ["a:1", "b:2", "a:1"] }), ["a:1", "b:2"]);
  assert.deepEqual(configuredEndpoints({ hubEndpoint: "a:1", hubEndpoints: [] }), ["a:1"]);
  assert.deepEqual(configuredEndpoints({ hubEndpoint: "a:1", hubEndpoints: ["not an endpoint"] }), ["a:1"]);
});

test("learnedEndpoints: a probe's valid list replaces what the edge knows; an empty or invalid one keeps it", () => {
  assert.deepEqual(learnedEndpoints(["a:1"], ["a:1", "c:3"]), ["a:1", "c:3"]);
  assert.deepEqual(learnedEndpoints(["a:1", "b:2"], []), ["a:1", "b:2"]);
  assert.deepEqual(learnedEndpoints(["a:1"], ["nope", ":0"]), ["a:1"]);
});

test("nextEndpoint: round-robin from the current one; the first when the current one left the list", () => {
  const ring = ["10.0.0.1:51820", "10.0.0.2:51820", "10.0.0.3:51820"];
  assert.equal(nextEndpoint(ring, "10.0.0.1:51820"), "10.0.0.2:51820");
  assert.equal(nextEndpoint(ring, "10.0.0.3:51820"), "10.0.0.1:51820");
  assert.equal(nextEndpoint(ring, "hub.example:51820"), "10.0.0.1:51820");
  assert.equal(nextEndpoint(["a:1"], "a:1"), "a:1", "one endpoint: the same one again (a restarted hub)");
  assert.equal(nextEndpoint([], "a:1"), "a:1");
});

test("acceptedMove: only an endpoint the same request lists, and not the one in use; anything else keeps the edge where it is", () => {
  const sent = ["192.0.2.1:51820", "192.0.2.2:51820"];
  assert.equal(acceptedMove(sent, "192.0.2.2:51820", ["192.0.2.1:51820", "192.0.2.1:51820"]), "192.0.2.2:51820");
  assert.equal(acceptedMove(sent, "", ["192.0.2.1:51820"]), "", "not asked (an older hub, or a plain probe)");
  assert.equal(acceptedMove(sent, "192.0.2.9:51820", ["192.0.2.1:51820"]), "", "not one of the hub's endpoints");
  assert.equal(acceptedMove([], "192.0.2.2:51820", ["192.0.2.1:51820"]), "", "no list in the request");
  assert.equal(acceptedMove(sent, "192.0.2.1:51820", ["192.0.2.1:51820", undefined]), "", "already there (configured)");
  assert.equal(acceptedMove(sent, "192.0.2.1:51820", ["hub.example.com:51820", "192.0.2.1:51820"]), "", "already there (where the hub's packets come from)");
  assert.equal(acceptedMove(["nope", ...sent], "nope", ["192.0.2.1:51820"]), "", "not an endpoint");
});
