/**
 * The real kubectl's sessions through the hub, the cases both session suites run:
 * - services/gateway/test/k8s-exec-kubectl.test.ts: gateway → NATS → tunnel-proxy → the edge's Session RPC over
 *   loopback gRPC (no WireGuard), all in one process;
 * - e2e/sessions-tunnel.test.ts: every hub service a process, the edge agent behind a real WireGuard tunnel.
 *
 * kubectl uses the gateway's kubeconfig; the edge reaches the kube-double as its proxy ServiceAccount. With the
 * chart's default RBAC exec is Forbidden with the API server's words; after the customer applies the `exec` scope's
 * generated patch, exec, exec -i, exit codes, attach, cp and exec -it with a resize work over WebSocket and over
 * SPDY/3.1, and port-forward (SPDY tunnelled in a WebSocket, and raw SPDY) carries 100 parallel requests and 64 MiB.
 * The hub refuses a viewer and the Assistant with problem+json; every session is one completed audit row.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import path from "node:path";
import { KubeConfig, KubernetesObjectApi, type KubernetesObject } from "@kubernetes/client-node";
import { generatePatch } from "@daalu/rbac";
import { EDGE_PROXY_USER, type KubeDouble } from "@daalu/kube-double";
import { eventually } from "@daalu/testing";
import { kubectlFor, kubectlWithKubeconfig, type Kubectl } from "../../../packages/kube-double/test/kubectl.js";
import { assertExitCodes, assertStdinRoundTrip, assertTtyResize } from "../../../packages/kube-double/test/exec-checks.js";
import { assertKubectlPortForward } from "../../../packages/kube-double/test/port-forward-checks.js";
import { refusedUpgrade } from "./upgrade-refusal.js";

const POD = "nginx"; // default namespace, container "nginx" (the double's fixtures)

/** kubectl over SPDY/3.1, as older clients and these settings do (1.32's default is WebSocket). */
const SPDY = { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: "false", KUBECTL_PORT_FORWARD_WEBSOCKETS: "false" };
/** The double serves SPDY (which every kubectl port-forward speaks) through its Go translator, built by the setup. */
const spdySkip = existsSync(new URL("../../../packages/kube-double/spdy/bin/kube-spdy-bridge", import.meta.url)) ? false : "the double's SPDY translator is not built (bash scripts/ensure-go-spdy.sh)";

export interface SessionRow {
  session_phase: number;
  session_command: string[];
  subresource: string;
  bytes_in: string;
  bytes_out: string;
}

export interface SessionCasesContext {
  /** The gateway's kubeconfig with an operator's token, and with a viewer's. */
  operatorKubeconfig: string;
  viewerKubeconfig: string;
  /** Where raw upgrades are refused: the URL kubectl talks to and the CA it trusts. */
  url: string;
  ca: string;
  clusterId: string;
  viewerToken: string;
  assistantToken: string;
  kube: KubeDouble;
  /** The cluster's session rows (audit.calls with session_phase > 0). */
  sessionRows(): Promise<SessionRow[]>;
}

/** Registers the cases; `ctx` is read when the first case runs (after the caller's `before`). */
export function sessionKubectlCases(ctx: () => SessionCasesContext): void {
  let c: SessionCasesContext | undefined;
  const cx = () => (c ??= ctx());
  const dir = mkdtempSync(path.join(tmpdir(), "session-cases-"));
  const through = new Map<string, Kubectl>();
  /** kubectl sessions the cases opened through the hub (each is at least one audit row). */
  let opened = 0;
  /** kubectl through the hub as the operator (`env` e.g. SPDY), or (`direct`) straight at the API server as the proxy account. */
  const kubectl = (env: Record<string, string> = {}, direct = false) => {
    const key = `${direct}${JSON.stringify(env)}`;
    if (!through.has(key)) through.set(key, direct ? kubectlFor(cx().kube, "edge-proxy-token", env) : kubectlWithKubeconfig(cx().operatorKubeconfig, env));
    return through.get(key)!;
  };
  const hub = (env: Record<string, string> = {}) => kubectl(env);
  after(() => {
    for (const k of through.values()) k.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test("the default read-only RBAC: kubectl exec is Forbidden with the API server's words, as straight at it, and nothing runs", async () => {
    const args = ["exec", POD, "--", "cat", "/etc/hostname"];
    const r = await hub().run(args);
    const d = await kubectl({}, true).run(args);
    opened++;
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /pods "nginx" is forbidden: User "system:serviceaccount:daalu-edge:daalu-edge-proxy" cannot (create|get) resource "pods\/exec" in API group "" in the namespace "default"/);
    assert.deepEqual([r.code, r.stdout, r.stderr], [d.code, d.stdout, d.stderr], "the same answer as straight at the API server");
    assert.equal(cx().kube.sessions({ kind: "exec" }).length, 0);
  });

  test("a viewer and the Assistant are refused by the hub with problem+json, before anything reaches the cluster", async () => {
    const r = await kubectlWithKubeconfig(cx().viewerKubeconfig).run(["exec", POD, "--", "cat", "/etc/hostname"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /operator/i, r.stderr);
    const podPath = `/k8s/clusters/${cx().clusterId}/api/v1/namespaces/default/pods/${POD}/exec?command=cat&stdin=true&stdout=true`;
    for (const [token, reason] of [[cx().viewerToken, "OPERATOR_REQUIRED"], [cx().assistantToken, "ASSISTANT_SESSIONS_DISABLED"]] as const) {
      for (const upgrade of ["websocket", "SPDY/3.1"]) {
        const x = await refusedUpgrade(cx().url, podPath, token, { upgrade, ca: cx().ca });
        assert.equal(x.status, 403, x.body);
        assert.match(x.type, /^application\/problem\+json/);
        assert.equal(JSON.parse(x.body).reason, reason);
      }
    }
    assert.equal(cx().kube.sessions({ kind: "exec" }).length, 0);
  });

  test("the customer applies the exec scope's generated patch: kubectl exec runs as the edge's proxy account", async () => {
    const patch = generatePatch({ scopes: ["exec"] }, { release: "daalu-edge", namespace: "daalu-edge", chartVersion: "0.1.0", appVersion: "0.1.0", hubUrl: "https://hub.example.com" });
    const kc = new KubeConfig();
    kc.loadFromString(cx().kube.kubeconfig({ token: "admin-token" }));
    const k8s = KubernetesObjectApi.makeApiClient(kc);
    for (const o of patch.objects) await k8s.create(o as KubernetesObject);
    const r = await hub().run(["exec", POD, "--", "cat", "/etc/hostname"]);
    opened++;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${POD}\n`);
    assert.equal(cx().kube.sessions({ kind: "exec" }).at(-1)!.user, EDGE_PROXY_USER);
  });

  for (const [mode, env, skip] of [["WebSocket", {}, false], ["SPDY/3.1 (KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false)", SPDY, spdySkip]] as const) {
    test(`${mode}: exec, exec -i 1 MiB byte-exact, exit codes, attach -i and cp both ways`, { timeout: 120_000, skip }, async () => {
      const k = hub(env);
      const host = await k.run(["exec", POD, "--", "cat", "/etc/hostname"]);
      assert.equal(host.code, 0, host.stderr);
      assert.equal(host.stdout, `${POD}\n`);
      await assertStdinRoundTrip(k, cx().kube, POD);
      await assertExitCodes(k, POD);
      const attached = await k.pipe(["attach", "-i", POD], Buffer.from("hello through the hub\n"));
      assert.equal(attached.code, 0, attached.stderr);
      assert.equal(attached.stdout.toString(), "hello through the hub\n");
      const file = randomBytes(300 * 1024);
      mkdirSync(path.join(dir, "up"), { recursive: true });
      writeFileSync(path.join(dir, "up", "blob.bin"), file);
      const up = await k.run(["cp", path.join(dir, "up", "blob.bin"), `default/${POD}:/tmp/blob.bin`]);
      assert.equal(up.code, 0, up.stderr);
      assert.ok(Buffer.from(cx().kube.podFs("default", POD).readFile("/tmp/blob.bin")!).equals(file), "uploaded byte-exact");
      const down = await k.run(["cp", `default/${POD}:/tmp/blob.bin`, path.join(dir, "back.bin")]);
      assert.equal(down.code, 0, down.stderr);
      assert.ok(readFileSync(path.join(dir, "back.bin")).equals(file), "downloaded byte-exact");
      rmSync(path.join(dir, "back.bin"));
      opened += 8;
    });

    test(`${mode}: exec -it under a pseudo-terminal, the terminal's size and a resize reach the container`, { timeout: 60_000, skip }, async () => {
      await assertTtyResize(hub(env), cx().kube, POD);
      opened++;
    });
  }

  for (const [mode, env] of [["SPDY tunnelled in a WebSocket (default)", {}], ["raw SPDY (KUBECTL_PORT_FORWARD_WEBSOCKETS=false)", SPDY]] as const) {
    test(`kubectl port-forward, ${mode}: 100 parallel requests and a 64 MiB download byte-exact`, { timeout: 120_000, skip: spdySkip }, async (t) => {
      const ms = await assertKubectlPortForward(hub(env), cx().kube, POD);
      opened++;
      t.diagnostic(`64 MiB through the hub in ${ms} ms (${((64 * 1000) / ms).toFixed(1)} MiB/s)`);
    });
  }

  test("every session is one audit row, completed, with its argv and bytes", async () => {
    await eventually(async () => {
      const rows = await cx().sessionRows();
      assert.ok(rows.length >= opened, `${rows.length} session rows for ${opened} kubectl sessions`);
      assert.ok(rows.every((r) => r.session_phase === 2), `every session completed: ${JSON.stringify(rows)}`);
      assert.ok(rows.some((r) => r.session_command.join(" ") === "cat /etc/hostname"), "the argv is recorded");
      assert.ok(rows.some((r) => r.subresource === "attach"), "attach recorded");
      assert.ok(rows.some((r) => Number(r.bytes_in) >= 1 << 20 && Number(r.bytes_out) >= 1 << 20), "bytes counted both ways for exec -i");
      if (!spdySkip) assert.ok(rows.some((r) => r.subresource === "portforward" && Number(r.bytes_out) >= 64 << 20), "port-forward's 64 MiB counted");
    });
    for (const x of cx().kube.sessions({ kind: "exec" })) assert.equal(x.user, EDGE_PROXY_USER, "as the edge's proxy account");
  });
}
