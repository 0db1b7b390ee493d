/**
 * The real kubectl over SPDY/3.1 against the double, through the Go
 * translator (packages/kube-double/spdy, built by scripts/ensure-go-spdy.sh):
 * exec, attach and cp with KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false (raw SPDY
 * upgrade), and port-forward, which kubectl always speaks in SPDY — tunnelled
 * in a WebSocket by default, a raw SPDY upgrade with
 * KUBECTL_PORT_FORWARD_WEBSOCKETS=false.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventually } from "@daalu/testing";
import { EDGE_PROXY_USER, startKubeDouble, type KubeDouble } from "../src/index.js";
import { kubectlFor, type Kubectl } from "./kubectl.js";
import { assertExitCodes, assertStdinRoundTrip, assertTtyResize } from "./exec-checks.js";
import { blob, get, httpTarget, listenOn } from "./http-target.js";

const POD = "nginx";
const built = existsSync(new URL("../spdy/bin/kube-spdy-bridge", import.meta.url));
const skip = built ? false : "the SPDY translator is not built (bash scripts/ensure-go-spdy.sh)";
const SPDY_EXEC = { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: "false" };

describe("kubectl over SPDY/3.1 against the double", { skip }, () => {
  let double: KubeDouble;
  let k: Kubectl;
  let dir: string;
  let app: http.Server;
  const data = blob();
  before(async () => {
    double = await startKubeDouble();
    k = kubectlFor(double, "admin-token", SPDY_EXEC);
    dir = mkdtempSync(join(tmpdir(), "kube-double-spdy-"));
    app = httpTarget(data);
    double.setPortTarget("default", POD, 80, `127.0.0.1:${await listenOn(app)}`);
  });
  after(async () => {
    app.close();
    rmSync(dir, { recursive: true, force: true });
    k.cleanup();
    await double.close();
  });

  /** The upgrade requests kubectl made for a subresource since `from` (the translator's own WebSockets are GETs with create). */
  const upgrades = (sub: string, from: number) => double.requests.slice(from).filter((r) => r.subresource === sub && r.method === "POST").map((r) => r.status);

  test("exec -- cat /etc/hostname: a POST upgraded to SPDY/3.1, served as a v5.channel.k8s.io session", async () => {
    const from = double.requests.length;
    const r = await k.run(["exec", POD, "--", "cat", "/etc/hostname"]);
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, `${POD}\n`, ""]);
    assert.deepEqual(upgrades("exec", from), [101]);
    const s = double.sessions({ pod: POD, kind: "exec" }).at(-1)!;
    assert.deepEqual([s.command, s.protocol, s.reason, s.exitCode, s.user], [["cat", "/etc/hostname"], "v5.channel.k8s.io", "exit", 0, "kubernetes-admin"]);
  });

  test("a non-zero exit code becomes kubectl's exit code; stderr stays apart from stdout", async () => {
    await assertExitCodes(k, POD);
  });

  test("exec -i pipes 1 MiB through cat byte-exact; closing the SPDY stdin stream ends cat", async () => {
    await assertStdinRoundTrip(k, double, POD);
  });

  test("exec -it under a pseudo-terminal: the resize stream carries the terminal size and a later resize; the exit code comes back", async () => {
    await assertTtyResize(k, double, POD);
  });

  test("attach -i talks to the pod's echo loop", async () => {
    const from = double.requests.length;
    const r = await k.pipe(["attach", "-i", POD], Buffer.from("hello\nworld\n"));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), "hello\nworld\n");
    assert.deepEqual(upgrades("attach", from), [101]);
  });

  test("cp copies a file into the pod and back byte-exact (exec + tar over SPDY)", async () => {
    const blobFile = randomBytes(300_000);
    writeFileSync(join(dir, "blob.bin"), blobFile);
    let r = await k.run(["cp", join(dir, "blob.bin"), `default/${POD}:/tmp/blob.bin`]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(double.podFs("default", POD).readFile("/tmp/blob.bin")!.equals(blobFile));
    r = await k.run(["cp", `default/${POD}:/tmp/blob.bin`, join(dir, "back.bin")]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(readFileSync(join(dir, "back.bin")).equals(blobFile));
  });

  test("RBAC: Forbidden verbatim without pods/exec; create alone is enough for a SPDY upgrade (a POST)", async () => {
    const denied = await k.run(["exec", POD, "--", "true"], "edge-proxy-token");
    assert.equal(denied.code, 1);
    assert.equal(denied.stderr.trim(), `Error from server (Forbidden): pods "${POD}" is forbidden: User "${EDGE_PROXY_USER}" cannot create resource "pods/exec" in API group "" in the namespace "default"`);
    double.setRbac(EDGE_PROXY_USER, [{ apiGroups: [""], resources: ["pods"], verbs: ["get"] }, { apiGroups: [""], resources: ["pods/exec"], verbs: ["create"] }]);
    const ok = await k.run(["exec", POD, "--", "hostname"], "edge-proxy-token");
    assert.deepEqual([ok.code, ok.stdout], [0, `${POD}\n`]);
    assert.equal(double.sessions({ pod: POD, kind: "exec" }).at(-1)!.user, EDGE_PROXY_USER);
  });

  for (const [mode, env, upgrade] of [
    ["SPDY tunnelled in a WebSocket (kubectl's default)", {}, "GET"],
    ["raw SPDY/3.1 (KUBECTL_PORT_FORWARD_WEBSOCKETS=false)", { KUBECTL_PORT_FORWARD_WEBSOCKETS: "false" }, "POST"],
  ] as const) {
    test(`kubectl port-forward, ${mode}: 100 parallel requests and a 64 MiB download byte-exact`, async () => {
      const pk = kubectlFor(double, "admin-token", env);
      const from = double.requests.length;
      const run = pk.start(["port-forward", `pod/${POD}`, ":80"]);
      try {
        let port = 0;
        await eventually(() => {
          const m = /Forwarding from 127\.0\.0\.1:(\d+) -> 80/.exec(run.out());
          assert.ok(m, run.out() + run.err());
          port = Number(m[1]);
        }, { timeoutMs: 15_000 });
        assert.deepEqual(double.requests.slice(from).filter((r) => r.subresource === "portforward" && r.method === upgrade).map((r) => r.status), [101]);
        const sessionsBefore = double.sessions({ kind: "portforward" }).length;
        const results = await Promise.all(Array.from({ length: 100 }, (_, i) => get(port, `/r/${i}`)));
        results.forEach((r, i) => assert.deepEqual([r.status, r.body.toString()], [200, `hello /r/${i}`]));
        // One double session per TCP connection, each ended when its connection closed.
        await eventually(() => {
          const mine = double.sessions({ kind: "portforward" }).slice(sessionsBefore);
          assert.deepEqual([mine.length, mine.filter((s) => s.endedAt).length], [100, 100]);
        });
        const started = Date.now();
        const r = await get(port, "/blob");
        const seconds = (Date.now() - started) / 1000;
        assert.equal(r.body.length, data.length);
        assert.ok(r.body.equals(data), "downloaded bytes differ");
        console.log(`# 64 MiB via kubectl port-forward, ${mode}, in ${seconds.toFixed(2)} s (${(64 / seconds).toFixed(0)} MiB/s)`);
      } finally {
        await run.stop();
        pk.cleanup();
      }
    });
  }

  test("kubectl port-forward without RBAC for pods/portforward prints the Forbidden verbatim", async () => {
    const denied = await k.run(["port-forward", POD, "18099:80"], "edge-proxy-token");
    assert.equal(denied.code, 1);
    assert.ok(denied.stderr.includes(`pods "${POD}" is forbidden: User "${EDGE_PROXY_USER}" cannot create resource "pods/portforward" in API group "" in the namespace "default"`), denied.stderr);
  });
});
