/**
 * A call that finds no tunnel-proxy on its cluster's subject: CLUSTER_MOVING
 * while any tunnel-proxy is subscribed to the shared alive subject (it answers,
 * or is too busy to within 500 ms), TUNNEL_UNAVAILABLE only when none is.
 * Real NATS.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { tunnelSubject } from "@daalu/runtime";
import { setup, type TestEnv } from "@daalu/testing";
import { aliveSubject, noResponderError } from "../src/no-responder.js";

let env: TestEnv;
before(async () => {
  env = await setup();
});
after(() => env?.cleanup());

const proxySubject = () => tunnelSubject(env.prefix, "acme", "c1", "Proxy");

test("nobody on the alive subject: TUNNEL_UNAVAILABLE at once", async () => {
  const t0 = Date.now();
  assert.equal((await noResponderError(env.nc, proxySubject())).reason, "TUNNEL_UNAVAILABLE");
  assert.ok(Date.now() - t0 < 400, "the server's no-responders answer, not the timeout");
});

test("a tunnel-proxy answers alive: CLUSTER_MOVING; one subscribed but too slow to answer: CLUSTER_MOVING too", async () => {
  const answering = env.nc.subscribe(aliveSubject(env.prefix), { callback: (_e, m) => void m.respond() });
  await env.nc.flush();
  assert.equal((await noResponderError(env.nc, proxySubject())).reason, "CLUSTER_MOVING");
  answering.unsubscribe();
  const busy = env.nc.subscribe(aliveSubject(env.prefix), { callback: () => undefined });
  await env.nc.flush();
  assert.equal((await noResponderError(env.nc, proxySubject())).reason, "CLUSTER_MOVING", "a busy tunnel-proxy is still a running one");
  busy.unsubscribe();
});
