/**
 * kubectl exec, attach, cp and port-forward through the hub and a real WireGuard tunnel (issue 13): the world of
 * kubectl-tunnel.test.ts (kubectl-world.ts: every hub service a process, the tunnel-proxy in the hub namespace
 * dialling the edge's tunnel address, the edge agent in its own namespace behind wireguard-go), and the cases of the
 * loopback session suite (services/gateway/test/session-kubectl-cases.ts): Forbidden by the default RBAC verbatim,
 * the hub's problem+json refusals of a viewer and the Assistant, then with the `exec` scope's patch exec, exec -i
 * 1 MiB, exit codes, attach, cp, exec -it with a resize (WebSocket and SPDY/3.1) and port-forward (100 parallel
 * requests, 64 MiB), one completed audit row per session. On top: the sessions' bytes cross the WireGuard interface.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { sessionKubectlCases, type SessionRow } from "../services/gateway/test/session-kubectl-cases.js";
import { runCleanups, startWorld, wgTransfer, type World } from "./kubectl-world.js";
import { e2eSkipReason } from "./netns.js";

const skip = e2eSkipReason();

describe("kubectl exec, attach, cp and port-forward through the hub and a real WireGuard tunnel", { skip }, () => {
  let w: World;
  let operator: string;
  let wgAtStart: { rx: number; tx: number };
  before(
    async () => {
      w = await startWorld();
      operator = w.kubeconfigWith(w.operatorToken, "operator");
      wgAtStart = await wgTransfer(w);
    },
    { timeout: 180_000 },
  );
  after(runCleanups);

  sessionKubectlCases(() => ({
    operatorKubeconfig: operator,
    viewerKubeconfig: w.cases.hub.kubeconfig,
    url: w.gatewayUrl,
    ca: w.ca,
    clusterId: w.clusterId,
    viewerToken: w.viewerToken,
    assistantToken: w.assistantToken,
    kube: w.cases.kube,
    sessionRows: async () => (await w.sql("select session_phase, session_command, subresource, bytes_in, bytes_out from audit.calls where cluster_id = $1 and session_phase > 0", [w.clusterId])).rows as SessionRow[],
  }));

  test("the sessions' bytes crossed the WireGuard interface", async (t) => {
    const now = await wgTransfer(w);
    const rx = now.rx - wgAtStart.rx;
    const tx = now.tx - wgAtStart.tx;
    // Both 64 MiB port-forward downloads came in through the tunnel (one when the SPDY translator is missing: none).
    const rows = (await w.sql("select coalesce(sum(bytes_out), 0)::bigint as n from audit.calls where cluster_id = $1 and session_phase > 0", [w.clusterId])).rows[0] as { n: string };
    assert.ok(rx >= Number(rows.n), `the hub's WireGuard rx grew by ${rx} bytes for ${rows.n} session bytes out`);
    assert.ok(tx >= 1 << 20, `exec -i's 1 MiB went out through the tunnel (tx grew by ${tx})`);
    t.diagnostic(`hub WireGuard interface: rx ${(rx / 2 ** 20).toFixed(1)} MiB, tx ${(tx / 2 ** 20).toFixed(1)} MiB for ${(Number(rows.n) / 2 ** 20).toFixed(1)} MiB of session output`);
  });
});
