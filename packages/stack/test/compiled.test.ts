/**
 * The production build runs: `npm run build` (scripts/build.sh, the step the
 * images run) compiles the services, and every hub service then starts from
 * its dist/main.js under plain node, no tsx, and serves.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { REPO_ROOT } from "@daalu/runtime";
import { setup } from "@daalu/testing";
import { HUB_SERVICES, startStack } from "../src/index.js";
import { get } from "./telemetry-hub.js";

test("npm run build compiles every hub service, and each starts and serves from dist/ without tsx", { timeout: 300_000 }, async (t) => {
  await promisify(execFile)("npm", ["run", "build"], { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 });
  const env = await setup();
  t.after(() => env.cleanup());
  const stack = await startStack({
    databaseUrl: env.databaseUrl,
    natsUrl: env.natsUrl,
    prefix: env.prefix,
    env: { ...env.env, DAALU_METRICS_LISTEN: "127.0.0.1:0" },
    serviceEnv: { peering: { PEERING_GRPC_ADDR: "off" }, audit: { AUDIT_GRPC_ADDR: "off" } },
    compiled: true,
    tenant: { id: "acme" },
  });
  t.after(() => stack.stop());
  for (const s of HUB_SERVICES) {
    const p = stack.process(s);
    const argv = readFileSync(`/proc/${p.child.pid}/cmdline`, "utf8").split("\0");
    assert.ok(argv.includes(`${REPO_ROOT}/services/${s}/dist/main.js`), `${s}: ${argv.join(" ")}`);
    assert.ok(argv.includes("--conditions=daalu-dist"), `${s}: ${argv.join(" ")}`);
    assert.ok(!argv.some((a) => a.includes("tsx")), `${s} runs through tsx: ${argv.join(" ")}`);
    const port = Number((await p.ready)["metricsPort"]);
    assert.equal((await get(port, "/readyz")).status, 200, s);
  }
  // The compiled services answer one another: the gateway → invite → peering path of adding a cluster.
  const r = await stack.api("POST", "/v1/clusters", { name: "compiled" });
  assert.equal(r.status, 201, JSON.stringify(r.body));
});
