/** The real kubectl exec, attach and cp against the double's WebSocket streams. */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventually } from "@daalu/testing";
import { EDGE_PROXY_USER, startKubeDouble, type KubeDouble } from "../src/index.js";
import { kubectlFor, type Kubectl } from "./kubectl.js";
import { assertExitCodes, assertStdinRoundTrip, assertTtyResize, underTerminal } from "./exec-checks.js";

const POD = "nginx"; // default namespace, container "nginx" (testdata/kube/pods.json)

describe("kubectl exec, attach and cp against the double", () => {
  let double: KubeDouble;
  let k: Kubectl;
  let dir: string;
  before(async () => {
    double = await startKubeDouble();
    k = kubectlFor(double);
    dir = mkdtempSync(join(tmpdir(), "kube-double-exec-"));
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    k.cleanup();
    await double.close();
  });

  test("exec POD -- cat /etc/hostname prints the pod name over v5.channel.k8s.io", async () => {
    const r = await k.run(["exec", POD, "--", "cat", "/etc/hostname"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${POD}\n`);
    const s = double.sessions({ pod: POD, kind: "exec" }).at(-1)!;
    assert.deepEqual([s.command, s.protocol, s.reason, s.exitCode, s.user, s.container], [["cat", "/etc/hostname"], "v5.channel.k8s.io", "exit", 0, "kubernetes-admin", "nginx"]);
    assert.ok(double.requestCount({ method: "GET", path: `/api/v1/namespaces/default/pods/${POD}/exec`, subresource: "exec", status: 101 }) >= 1);
  });

  test("a non-zero exit code becomes kubectl's exit code; stderr stays apart from stdout", async () => {
    await assertExitCodes(k, POD);
  });

  test("exec -i pipes 1 MiB of stdin through cat byte-exact; the v5 close signal ends cat", async () => {
    await assertStdinRoundTrip(k, double, POD);
  });

  test("exec -it under a pseudo-terminal: prompt, echo, stty size follows a resize, exit code", async () => {
    await assertTtyResize(k, double, POD);
  });

  test("Ctrl-C typed in exec -it reaches the command as SIGINT: sleep ends with 130, and so does kubectl", async () => {
    const { child, exited } = underTerminal(k, ["exec", "-it", POD, "--", "sleep", "30"]);
    try {
      await eventually(() => assert.equal(double.sessions({ pod: POD, kind: "exec", running: true }).length, 1), { timeoutMs: 10_000 });
      const s = double.sessions({ pod: POD, kind: "exec", running: true })[0]!;
      const typed = Date.now();
      child.stdin.write("\x03");
      await eventually(() => assert.deepEqual([s.reason, s.exitCode], ["exit", 130]), { timeoutMs: 1000 });
      assert.ok(s.endedAt!.getTime() - typed <= 1000);
      assert.equal(await exited, 130);
    } finally {
      child.kill("SIGKILL");
    }
  });

  test("attach -i talks to the pod's echo loop; attach without -i streams the container's output until it ends", async () => {
    const r = await k.pipe(["attach", "-i", POD], Buffer.from("hello\nworld\n"));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), "hello\nworld\n");
    assert.equal(double.sessions({ pod: POD, kind: "attach" }).at(-1)!.reason, "exit");
    const a = k.start(["attach", POD]);
    await eventually(() => assert.equal(double.sessions({ pod: POD, kind: "attach", running: true }).length, 1), { timeoutMs: 10_000 });
    double.appendLog("default", POD, "nginx", ["GET / 200", "GET /health 200"]);
    await eventually(() => assert.equal(a.out(), "GET / 200\nGET /health 200\n"));
    double.endLogs("default", POD, "nginx");
    assert.equal(await a.exited, 0);
  });

  test("cp copies a file and a directory into the pod and back, byte-exact (exec + tar)", async () => {
    const data = randomBytes(300_000);
    writeFileSync(join(dir, "blob.bin"), data);
    mkdirSync(join(dir, "tree/sub"), { recursive: true });
    writeFileSync(join(dir, "tree/a.txt"), "alpha\n");
    writeFileSync(join(dir, "tree/sub/b.bin"), data.subarray(0, 1000));
    let r = await k.run(["cp", join(dir, "blob.bin"), `default/${POD}:/tmp/blob.bin`]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(double.podFs("default", POD).readFile("/tmp/blob.bin")!.equals(data));
    r = await k.run(["cp", join(dir, "tree"), `default/${POD}:/srv/tree`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(double.podFs("default", POD).readFile("/srv/tree/a.txt")!.toString(), "alpha\n");
    r = await k.run(["cp", `default/${POD}:/tmp/blob.bin`, join(dir, "back.bin")]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(readFileSync(join(dir, "back.bin")).equals(data));
    r = await k.run(["cp", `default/${POD}:/srv/tree`, join(dir, "tree-back")]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(join(dir, "tree-back/a.txt"), "utf8"), "alpha\n");
    assert.ok(readFileSync(join(dir, "tree-back/sub/b.bin")).equals(data.subarray(0, 1000)));
    const tars = double.sessions({ pod: POD, kind: "exec" }).filter((s) => s.command?.[0] === "tar");
    assert.ok(tars.some((s) => s.command!.includes("-xmf")) && tars.some((s) => s.command!.includes("cf")), JSON.stringify(tars.map((s) => s.command)));
  });

  test("Ctrl-C in kubectl ends the session at the API server side within 1 s", async () => {
    const run = k.start(["exec", POD, "--", "sleep", "30"]);
    await eventually(() => assert.equal(double.sessions({ pod: POD, kind: "exec", running: true }).length, 1), { timeoutMs: 10_000 });
    const s = double.sessions({ pod: POD, kind: "exec", running: true })[0]!;
    const sent = Date.now();
    run.child.kill("SIGINT");
    await eventually(() => assert.equal(s.reason, "client-closed"), { timeoutMs: 1000 });
    assert.ok(s.endedAt!.getTime() - sent <= 1000, `ended ${s.endedAt!.getTime() - sent} ms after SIGINT`);
    console.log(`# exec session ended ${s.endedAt!.getTime() - sent} ms after SIGINT to kubectl`);
    await run.exited;
  });

  test("deleting the pod ends its exec session: kubectl exits 137", async () => {
    double.store.put({ apiVersion: "v1", kind: "Pod", metadata: { name: "doomed", namespace: "default" }, spec: { containers: [{ name: "main", image: "busybox" }] }, status: { phase: "Running" } });
    const run = k.start(["exec", "doomed", "--", "sleep", "30"]);
    await eventually(() => assert.equal(double.sessions({ pod: "doomed", running: true }).length, 1), { timeoutMs: 10_000 });
    assert.equal((await k.run(["delete", "pod", "doomed"])).code, 0);
    assert.equal(await run.exited, 137);
    assert.equal(double.sessions({ pod: "doomed" })[0]!.reason, "pod-deleted");
  });

  test("without RBAC for pods/exec and pods/attach, kubectl prints the API server's Forbidden verbatim", async () => {
    for (const [verb, sub] of [["exec", "exec"], ["attach", "attach"]] as const) {
      const args = verb === "exec" ? ["exec", POD, "--", "true"] : ["attach", POD];
      const r = await k.run(args, "edge-proxy-token");
      assert.equal(r.code, 1);
      // kubectl attach prints its "If you don't see a command prompt" hint before connecting.
      assert.equal(r.stderr.trim().split("\n").at(-1), `Error from server (Forbidden): pods "${POD}" is forbidden: User "${EDGE_PROXY_USER}" cannot create resource "pods/${sub}" in API group "" in the namespace "default"`);
    }
    // get alone is not enough for a WebSocket upgrade: create is checked too.
    double.setRbac(EDGE_PROXY_USER, [{ apiGroups: [""], resources: ["pods"], verbs: ["get"] }, { apiGroups: [""], resources: ["pods/exec"], verbs: ["get"] }]);
    assert.match((await k.run(["exec", POD, "--", "true"], "edge-proxy-token")).stderr, /cannot create resource "pods\/exec"/);
    double.setRbac(EDGE_PROXY_USER, [{ apiGroups: [""], resources: ["pods"], verbs: ["get"] }, { apiGroups: [""], resources: ["pods/exec"], verbs: ["get", "create"] }]);
    const ok = await k.run(["exec", POD, "--", "hostname"], "edge-proxy-token");
    assert.deepEqual([ok.code, ok.stdout], [0, `${POD}\n`]);
  });
});
