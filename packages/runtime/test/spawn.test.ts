import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnProcess } from "../src/spawn.js";

const node = (script: string) => ({ command: process.execPath, args: ["-e", script] });

test("ready resolves with the parsed ready line, however the output is chunked", async () => {
  const p = spawnProcess({ name: "t", ...node(`process.stdout.write('{"level":30,"port":7,'); setTimeout(() => { process.stdout.write('"msg":"ready"}\\n'); setInterval(() => {}, 1000); }, 50)`) });
  assert.deepEqual(await p.ready, { level: 30, port: 7, msg: "ready" });
  assert.equal(await p.stop(), null, "SIGTERM ended it");
});

test("a child that is not ready in time fails with its output's tail, and one that exits says so", async () => {
  const slow = spawnProcess({ name: "slow", readyTimeoutMs: 5_000, ...node(`console.log("still migrating"); setInterval(() => {}, 1000)`) });
  await assert.rejects(slow.ready, /slow was not ready within 5000 ms:\nstill migrating/);
  await slow.kill();
  const dead = spawnProcess({ name: "dead", ...node(`console.error("ConfigError: NATS_URL is required"); process.exit(1)`) });
  await assert.rejects(dead.ready, /dead exited \(1\) before it was ready:\nConfigError: NATS_URL is required/);
});

test("stop escalates to SIGKILL when SIGTERM is ignored", async () => {
  const p = spawnProcess({ name: "stubborn", ...node(`process.on("SIGTERM", () => {}); console.log('{"msg":"ready"}'); setInterval(() => {}, 1000)`) });
  await p.ready;
  const t0 = Date.now();
  assert.equal(await p.stop(200), null);
  assert.equal(p.child.signalCode, "SIGKILL");
  assert.ok(Date.now() - t0 < 5_000);
});

test("env reaches the child, and a missing command fails ready instead of hanging", async () => {
  const p = spawnProcess({ name: "env", env: { DAALU_X: "42" }, ...node(`console.log(JSON.stringify({ msg: "ready", x: process.env.DAALU_X }))`) });
  assert.equal((await p.ready)["x"], "42");
  const missing = spawnProcess({ name: "missing", command: "/nonexistent/daalu-binary" });
  await assert.rejects(missing.ready, /missing could not start/);
  assert.equal(await missing.exited, null);
});
