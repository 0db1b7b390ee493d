/**
 * A tunnel stack whose edge answers GetStatus with a real EdgeAgent (against
 * the same kube-double its Proxy uses), for tests of what the hub reads of
 * the edge itself. Its kubeconfig lives in a temp dir removed by `stop()`.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createLogger } from "@daalu/runtime";
import { EDGE_NAMESPACE } from "@daalu/kube-double";
import { EdgeAgent, KubeAccess, loadConfig as loadEdgeConfig, type RunConfig } from "@daalu/edge";
import { setup, type TestEnv } from "@daalu/testing";
import { startTunnelStack, type TunnelStack } from "../../tunnel-proxy/test/harness.js";
import { seedTenant, startGateway } from "./helpers.js";

async function startStackWithEdgeAgent(env: TestEnv, clusters: { tenant: string; name: string }[]): Promise<TunnelStack> {
  const dir = mkdtempSync(path.join(tmpdir(), "edge-agent-"));
  const stack = await startTunnelStack(env, clusters, {}, {
    edgeStatus: async (kube) => {
      const kubeconfig = path.join(dir, "edge.kubeconfig");
      writeFileSync(kubeconfig, kube.kubeconfig({ token: "edge-token", namespace: EDGE_NAMESPACE }));
      const cfg = loadEdgeConfig("run", { EDGE_KUBECONFIG: kubeconfig, EDGE_NAMESPACE }) as RunConfig;
      const agent = new EdgeAgent(cfg, createLogger("edge", "silent"), { kube: await KubeAccess.open(cfg.kube) });
      return () => agent.status();
    },
  });
  const stop = stack.stop.bind(stack);
  return Object.assign(stack, { stop: () => stop().finally(() => rmSync(dir, { recursive: true, force: true })) });
}

/** Tenants acme and globex, a stack with acme's cluster "prod" behind a real edge agent, and a gateway over them. */
export async function startEdgeWorld(gatewayEnv: Record<string, string> = {}) {
  const env = await setup();
  const acme = await seedTenant(env, "acme");
  const globex = await seedTenant(env, "globex");
  const stack = await startStackWithEdgeAgent(env, [{ tenant: "acme", name: "prod" }]);
  const gw = await startGateway(env, gatewayEnv);
  return { env, acme, globex, stack, cluster: stack.clusterIds[0]!, gw };
}
