import { test } from "node:test";
import assert from "node:assert/strict";
import { eventually } from "@daalu/testing";
import { startSessionStack } from "./session-harness.js";

// The gateway's own shutdown (SIGTERM, a rolling update) with a session open: the client is told why, as kubectl
// reads it (a Status on exec's error channel, then a WebSocket close 1011), not cut with a bare TCP close (1006).

test("closing the gateway ends an open exec session with the reason on the error channel and close 1011, and its audit row", { timeout: 120_000 }, async (t) => {
  const s = await startSessionStack({});
  t.after(async () => {
    await s.stack.stop();
    await s.up.close();
    await s.env.cleanup();
  });
  const marker = `gwclose${Date.now()}`;
  const ws = await s.exec("echo", s.acme.operator, `command=${marker}&stdin=true&stdout=true`);
  await eventually(async () => assert.equal(await s.stack.auditRows(s.cluster, `session_command = array['${marker}'] and session_phase = 1`), 1));
  const t0 = Date.now();
  await s.gw.close();
  const code = await ws.closed;
  assert.equal(code, 1011, "closed by the gateway with a reason, not dropped");
  assert.ok(Date.now() - t0 < 5_000, `the client was told within the drain's notice (${Date.now() - t0} ms)`);
  const status = ws.received.find((b) => b[0] === 3);
  assert.ok(status, `a Status on the error channel (got channels ${ws.received.map((b) => b[0]).join(",")})`);
  const body = JSON.parse(status.subarray(1).toString("utf8")) as { status: string; message: string };
  assert.equal(body.status, "Failure");
  assert.match(body.message, /shutting down/);
  await eventually(async () => assert.equal(await s.stack.auditRows(s.cluster, `session_command = array['${marker}'] and session_phase = 2 and session_close_reason like '%the hub is shutting down%'`), 1));
});
