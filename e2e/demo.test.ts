/**
 * `./daalu.sh demo` as a newcomer runs it: the script in its own process
 * group (a terminal's foreground job), the hub on this test's database and
 * subject prefix, three simulated clusters with real WireGuard in network
 * namespaces. The test waits for the clusters to be connected through the
 * REST API, runs the kubectl line the demo printed (through the hub, the
 * tunnel and the edge), then sends the group SIGINT (Ctrl-C) and checks that
 * no namespace, WireGuard interface or process of the run is left.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { eventually, setup, type TestEnv } from "@daalu/testing";
import { freePort } from "@daalu/runtime";
import { e2eSkipReason, ROOT } from "./netns.js";

const skip = e2eSkipReason();
const run = promisify(execFile);

/** Pids whose environment holds `marker` (every process the demo started inherits it). */
function pidsWith(marker: string): number[] {
  const pids: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${d}/environ`).includes(marker)) pids.push(Number(d));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

const cmdline = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim();
  } catch {
    return "(gone)";
  }
};

describe("./daalu.sh demo", { skip }, () => {
  let env: TestEnv;
  let dataDir: string;
  let demo: ChildProcess;
  let out = "";
  let exited: Promise<number | null>;
  let gatewayUrl: string;

  before(async () => {
    env = await setup();
    dataDir = mkdtempSync(path.join(tmpdir(), "daalu-demo-test-"));
    gatewayUrl = `http://127.0.0.1:${await freePort()}`;
    demo = spawn("bash", [path.join(ROOT, "daalu.sh"), "demo"], {
      cwd: ROOT,
      // Its own process group, like a job in a terminal: SIGINT to the group is Ctrl-C.
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        ...env.env,
        DATABASE_URL: env.databaseUrl,
        NATS_URL: env.natsUrl,
        DAALU_NATS_PREFIX: env.prefix,
        DAALU_DATA_DIR: dataDir,
        GATEWAY_LISTEN: new URL(gatewayUrl).host,
        DAALU_DEMO_TLS_LISTEN: `127.0.0.1:${await freePort()}`,
      },
    });
    demo.stdout!.on("data", (b: Buffer) => (out += b.toString()));
    demo.stderr!.on("data", (b: Buffer) => (out += b.toString()));
    exited = new Promise((r) => demo.once("exit", (code) => r(code)));
  });

  after(async () => {
    // A failed test still leaves nothing running.
    if (demo.exitCode === null && demo.signalCode === null) {
      process.kill(-demo.pid!, "SIGINT");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 60_000))]);
    }
    for (const pid of pidsWith(`DAALU_DATA_DIR=${dataDir}`)) process.kill(pid, "SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
    await env.cleanup();
  });

  test("three connected clusters, kubectl through the hub, Ctrl-C leaves nothing behind", { timeout: 600_000 }, async (t) => {
    const started = Date.now();
    await eventually(
      () => {
        assert.ok(demo.exitCode === null, `the demo exited ${demo.exitCode}:\n${out}`);
        assert.match(out, /Daalu demo is up\./);
      },
      { timeoutMs: 300_000, intervalMs: 200 },
    );
    t.diagnostic(`demo up after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    assert.ok(out.includes(`Web UI and API:  ${gatewayUrl}/`), out);
    const namespaces = /Network namespaces: (.+)/.exec(out)![1]!.trim().split(" ");
    assert.equal(namespaces.length, 5, out); // the lan (the bridge), the hub, three edges
    const runId = /^daalu-([0-9a-f]+)-h$/.exec(namespaces.find((n) => n.endsWith("-h"))!)![1]!;
    const { stdout: nsBefore } = await run("ip", ["netns", "list"]);
    for (const ns of namespaces) assert.ok(nsBefore.includes(ns), `${ns} exists while the demo runs`);

    // The three clusters, connected, as the REST API tells any client.
    const token = readFileSync(path.join(dataDir, "admin-token"), "utf8").trim();
    await eventually(
      async () => {
        const r = await fetch(`${gatewayUrl}/v1/clusters`, { headers: { authorization: `Bearer ${token}` } });
        const body = (await r.json()) as { clusters: { name: string; status: string }[] };
        assert.equal(r.status, 200);
        assert.deepEqual(body.clusters.map((c) => `${c.name}=${c.status}`).sort(), ["demo-eu-1=connected", "demo-lab=connected", "demo-us-1=connected"]);
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );

    // A person signs in with the password the demo names.
    assert.match(out, /Sign in: +tenant "default", user "admin", password in \S+admin-password/);
    const password = readFileSync(path.join(dataDir, "admin-password"), "utf8").trim();
    const session = await fetch(`${gatewayUrl}/v1/session`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ tenant: "default", username: "admin", password }) });
    assert.equal(session.status, 200, await session.text());

    // The kubectl line the demo printed, as printed.
    const line = /^\s+(kubectl --kubeconfig \S+ get nodes)$/m.exec(out)?.[1];
    assert.ok(line, out);
    const argv = line.split(" ").slice(1);
    const kubeconfig = argv[1]!;
    assert.ok(existsSync(path.resolve(ROOT, kubeconfig)), kubeconfig);
    assert.match(readFileSync(path.resolve(ROOT, kubeconfig), "utf8"), /server: "https:\/\/127\.0\.0\.1:\d+\/k8s\/clusters\/[0-9a-f-]+"/);
    const { stdout: nodes } = await run("kubectl", argv, { cwd: ROOT, timeout: 60_000 });
    assert.match(nodes, /^NAME\s+STATUS\s+ROLES/m);
    for (const n of ["cp-1", "worker-1", "worker-2"]) assert.match(nodes, new RegExp(`^${n}\\s+Ready`, "m"));

    // Ctrl-C: everything stops, in order, and goes away.
    const marker = `DAALU_DATA_DIR=${dataDir}`;
    const running = pidsWith(marker);
    // bash/npx/tsx/demo, 5 services + the TLS gateway, 3 edges + wireguard-go, relays.
    assert.ok(running.length >= 15, `only ${running.length} processes of the demo:\n${running.map(cmdline).join("\n")}`);
    const stopAt = Date.now();
    process.kill(-demo.pid!, "SIGINT");
    const code = await Promise.race([exited, new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 90_000))]);
    assert.equal(code, 0, `the demo's exit after SIGINT:\n${out.slice(-3000)}`);
    t.diagnostic(`stopped ${((Date.now() - stopAt) / 1000).toFixed(1)} s after SIGINT`);
    assert.match(out, /demo: stopped/);
    await eventually(() => assert.deepEqual(pidsWith(marker).map((p) => `${p} ${cmdline(p)}`), []), { timeoutMs: 10_000, intervalMs: 200 });
    const { stdout: nsAfter } = await run("ip", ["netns", "list"]);
    for (const ns of namespaces) assert.ok(!nsAfter.includes(ns), `${ns} is left:\n${nsAfter}`);
    const { stdout: links } = await run("ip", ["-o", "link"]);
    assert.ok(!links.includes(runId), `an interface of the run is left:\n${links}`);
    const sockets = existsSync("/var/run/wireguard") ? readdirSync("/var/run/wireguard").filter((f) => f.includes(runId)) : [];
    assert.deepEqual(sockets, []);
  });
});
