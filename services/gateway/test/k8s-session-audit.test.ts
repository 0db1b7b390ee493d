import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { jetstreamManager } from "@nats-io/jetstream";
import { auditStreamName, ensureAuditStream } from "@daalu/audit";
import { startSessionStack, type SessionStack } from "./session-harness.js";

// A session is never run unaudited (its own stack: deleting the audit stream also deletes the writer's consumer).

let s: SessionStack;

before(async () => {
  s = await startSessionStack({ TUNNEL_PROXY_AUDIT_DEADLINE: "1s" });
});
after(() => s?.close());

test("audit unavailable: a new session is refused with 503 AUDIT_UNAVAILABLE and never reaches the API server", async () => {
  const jsm = await jetstreamManager(s.env.nc);
  await jsm.streams.delete(auditStreamName(s.env.prefix));
  const upgrades = s.up.authorizations.length;
  try {
    const r = await s.refused(s.podPath("echo"), s.acme.operator);
    assert.equal(r.status, 503);
    assert.match(r.type, /^application\/problem\+json/);
    assert.equal(JSON.parse(r.body).reason, "AUDIT_UNAVAILABLE");
    assert.equal(s.up.authorizations.length, upgrades, "nothing went upstream");
  } finally {
    await ensureAuditStream(jsm, s.env.prefix);
  }
});

