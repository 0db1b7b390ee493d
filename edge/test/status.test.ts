/**
 * EdgeService over real gRPC: GetStatus reports the API server as the
 * proxy ServiceAccount (the identity of proxied calls) sees it (kube-double), and any caller but the hub's tunnel
 * address is refused before the handler runs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { EDGE_PROXY_USER, SERVER_VERSION, defaultPolicy } from "@daalu/kube-double";
import { covers, presetRules, SCOPES } from "@daalu/rbac";
import { edgev1 } from "@daalu/proto";
import { Code, DaaluError, createLogger, grpcClient } from "@daalu/runtime";
import { startStatusServer } from "../src/adapters/grpc.js";
import { KubeAccess } from "../src/adapters/kube.js";
import { EdgeAgent } from "../src/agent.js";
import { loadConfig, type RunConfig } from "../src/config.js";
import { EDGE_VERSION } from "../src/version.js";
import { startKube } from "./helpers.js";

const logger = createLogger("edge-test", "silent");

async function agentAgainst(kubeconfig: string) {
  const cfg = loadConfig("run", { EDGE_KUBECONFIG: kubeconfig, EDGE_NAMESPACE: "daalu-edge" }) as RunConfig;
  const kube = await KubeAccess.open(cfg.kube);
  return new EdgeAgent(cfg, logger, { kube });
}

test("GetStatus answers the hub's address with version, API reachability and node counts", async (t) => {
  const k = await startKube();
  t.after(() => k.close());
  const agent = await agentAgainst(k.edgeKubeconfig);
  // 127.0.0.2 is the "tunnel address"; a loopback client connects from 127.0.0.1, which plays the hub.
  const server = await startStatusServer({ host: "127.0.0.2", port: 0, hubTunnelIp: "127.0.0.1", impl: { getStatus: () => agent.status() }, logger });
  const client = grpcClient(`127.0.0.2:${server.port}`, edgev1.EdgeService);
  t.after(async () => {
    client.close();
    await server.close(1000);
  });

  const s = await client.getStatus({});
  const nodes = k.kube.store.list("nodes");
  assert.ok(nodes.length > 0, "fixtures have nodes");
  const ready = nodes.filter((n) => ((n as { status?: { conditions?: Array<{ type: string; status: string }> } }).status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True"));
  assert.equal(s.edgeVersion, EDGE_VERSION);
  assert.equal(s.apiReachable, true);
  assert.equal(s.apiError, "");
  assert.equal(s.kubernetesVersion, SERVER_VERSION.gitVersion);
  assert.equal(s.nodeCount, nodes.length);
  assert.equal(s.nodesReady, ready.length);
  assert.ok(s.startedAt && Number(s.startedAt.seconds) > 0);
  // The API server it talks to (the kubeconfig's), and when it asked it.
  assert.equal(s.apiServer, k.kube.url);
  assert.ok(s.probedAt && Math.abs(Number(s.probedAt.seconds) * 1000 - Date.now()) < 60_000, "probedAt is now");
  // The proxy account's effective rules, from its SelfSubjectRulesReview: the read-only preset, nothing wider.
  assert.equal(s.effectiveRulesError, "");
  assert.ok(s.effectiveRulesAt && Math.abs(Number(s.effectiveRulesAt.seconds) * 1000 - Date.now()) < 60_000);
  assert.ok(covers(s.effectiveRules, presetRules("read-only")), JSON.stringify(s.effectiveRules));
  assert.ok(!covers(s.effectiveRules, SCOPES.find((x) => x.name === "configmaps")!.rules));

  // RBAC takes nodes away: the hub sees the API server's exact words.
  k.kube.setRbac(EDGE_PROXY_USER, defaultPolicy()[EDGE_PROXY_USER]!.map((r) => ({ ...r, resources: r.resources.filter((x) => x !== "nodes") })));
  const denied = await client.getStatus({});
  assert.equal(denied.apiReachable, false);
  assert.match(denied.apiError, /^HTTP 403: nodes is forbidden: User "system:serviceaccount:daalu-edge:daalu-edge-proxy" cannot list resource "nodes"/);
  assert.ok(!covers(denied.effectiveRules, SCOPES.find((x) => x.name === "nodes-namespaces")!.rules), "the review follows RBAC");

  await k.kube.close();
  const down = await client.getStatus({});
  assert.equal(down.apiReachable, false);
  assert.notEqual(down.apiError, "");
  assert.notEqual(down.effectiveRulesError, "", "a review that failed says why");
});

test("a caller that is not the hub's tunnel address gets PERMISSION_DENIED", async (t) => {
  const k = await startKube();
  t.after(() => k.close());
  const agent = await agentAgainst(k.edgeKubeconfig);
  let handled = 0;
  const server = await startStatusServer({
    host: "127.0.0.2",
    port: 0,
    hubTunnelIp: "10.77.0.1",
    impl: {
      getStatus: () => {
        handled++;
        return agent.status();
      },
    },
    logger,
  });
  const client = grpcClient(`127.0.0.2:${server.port}`, edgev1.EdgeService);
  t.after(async () => {
    client.close();
    await server.close(1000);
  });
  await assert.rejects(client.getStatus({}), (err: unknown) => {
    assert.ok(err instanceof DaaluError);
    assert.equal(err.code, Code.PermissionDenied);
    assert.match(err.message, /only the hub's tunnel address 10\.77\.0\.1 may call the edge/);
    return true;
  });
  assert.equal(handled, 0, "the handler never ran");
});
