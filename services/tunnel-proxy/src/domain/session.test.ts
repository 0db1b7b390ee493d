import { test } from "node:test";
import assert from "node:assert/strict";
import { auditv1 } from "@daalu/proto";
import { SessionLimits, sessionFacts, sessionStart } from "./session.js";

test("facts: exec argv in order, container, port-forward ports; stdin flags are not a command", () => {
  assert.deepEqual(sessionFacts("/api/v1/namespaces/d/pods/p/exec?command=sh&command=-c&command=echo%20hi&container=app&stdin=true&tty=true"), { command: ["sh", "-c", "echo hi"], container: "app", ports: [] });
  assert.deepEqual(sessionFacts("/api/v1/namespaces/d/pods/p/portforward?ports=8080&ports=9090"), { command: [], container: "", ports: ["8080", "9090"] });
  assert.deepEqual(sessionFacts("/api/v1/namespaces/d/pods/p/attach"), { command: [], container: "", ports: [] });
});

test("start record carries the session id and phase START", () => {
  const s = sessionStart("id-1", "/api/v1/namespaces/d/pods/p/exec?command=ls", "instance-1");
  assert.equal(s.hubInstance, "instance-1");
  assert.equal(s.sessionId, "id-1");
  assert.equal(s.phase, auditv1.SessionPhase.START);
  assert.deepEqual(s.command, ["ls"]);
});

test("limits: per cluster first, then per tenant; release frees once", () => {
  const l = new SessionLimits(3, 2);
  const a = l.acquire("t", "c1");
  const b = l.acquire("t", "c1");
  assert.ok("release" in a && "release" in b);
  assert.deepEqual(l.acquire("t", "c1"), { scope: "cluster", limit: 2 });
  const c = l.acquire("t", "c2");
  assert.ok("release" in c);
  assert.deepEqual(l.acquire("t", "c3"), { scope: "tenant", limit: 3 });
  assert.ok("release" in l.acquire("u", "c1"), "another tenant's cluster of the same id is its own");
  a.release();
  a.release();
  assert.equal(l.openFor("t"), 2);
  assert.ok("release" in l.acquire("t", "c1"));
  assert.deepEqual(l.acquire("t", "c1"), { scope: "cluster", limit: 2 });
});

test("limits of 0 mean none", () => {
  const l = new SessionLimits(0, 0);
  for (let i = 0; i < 100; i++) assert.ok("release" in l.acquire("t", "c"));
});
