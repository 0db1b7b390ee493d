/**
 * The stack of the session tests: gateway (with k8sSessions) -> NATS duplex
 * stream -> tunnel-proxy -> edge Session RPC (loopback gRPC) -> a `ws`
 * stand-in API server (session-upstream.ts), with the real peering, audit and
 * tunnel-proxy; tenant acme with viewer, operator and Assistant tokens.
 */
import WebSocket from "ws";
import { CallerKind } from "@daalu/proto";
import { peeringClient } from "@daalu/peering";
import { setup, type TestEnv } from "@daalu/testing";
import type { KubeDouble } from "@daalu/kube-double";
import type { ApiServerRef } from "@daalu/edge/proxy";
import { startTunnelStack, type TunnelStack } from "../../tunnel-proxy/test/harness.js";
import { openGatewayStore, createApiToken } from "../src/admin.js";
import { k8sSessions } from "../src/http/k8s-session.js";
import { seedTenant, type Tokens } from "./helpers.js";
import { startK8sGateway, type K8sGateway } from "./k8s-harness.js";
import { startSessionUpstream, type SessionUpstream } from "./session-upstream.js";
import { refusedUpgrade, type Refusal } from "./upgrade-refusal.js";

/** An open exec WebSocket; `received` collects its messages from the first (one can come with the 101). */
export type ExecSocket = WebSocket & { received: Buffer[]; closed: Promise<number> };

export interface SessionStack {
  env: TestEnv;
  up: SessionUpstream;
  stack: TunnelStack;
  gw: K8sGateway;
  acme: Tokens & { operator: string; assistant: string };
  cluster: string;
  podPath(pod: string, sub?: string, query?: string): string;
  exec(pod: string, token?: string, query?: string): Promise<ExecSocket>;
  /** An upgrade that is refused: status, content type and body. */
  refused(pathAndQuery: string, token: string, upgrade?: string): Promise<Refusal>;
  close(): Promise<void>;
}

/**
 * `tunnelProxyEnv`: extra TUNNEL_PROXY_* settings (limits, timeouts); `edgeApiServer`: where the edge's sessions go
 * (default: the `ws` stand-in `up`, with a fixed token; e.g. `edgeAsPod(dir)` for the kube-double as the proxy account).
 */
export async function startSessionStack(tunnelProxyEnv: Record<string, string>, opts: { edgeApiServer?: (kube: KubeDouble) => Promise<ApiServerRef> } = {}): Promise<SessionStack> {
  const env = await setup();
  const acme = { ...(await seedTenant(env, "acme")), operator: "", assistant: "" };
  const store = await openGatewayStore(env.databaseUrl);
  acme.operator = (await createApiToken(store, "acme", "olga", { role: "operator" })).token;
  acme.assistant = (await createApiToken(store, "acme", "helper", { role: "operator", kind: "assistant" })).token;
  await store.close();
  const up = await startSessionUpstream();
  const stack = await startTunnelStack(env, [{ tenant: "acme", name: "prod" }], tunnelProxyEnv, { edgeApiServer: opts.edgeApiServer ?? (async () => ({ server: up.url, token: "edge-proxy-token" })) });
  const cluster = stack.clusterIds[0]!;
  const gw = await startK8sGateway(env, async ({ app, auth, logger }) => {
    const peering = peeringClient(env.nc, { prefix: env.prefix, defaults: { caller: { kind: CallerKind.SERVICE, id: "gateway" } } });
    k8sSessions(app, { auth, peering, nc: env.nc, natsPrefix: env.prefix, assistantTenants: [], headTimeoutMs: 10_000, logger });
  });
  const podPath = (pod: string, sub = "exec", query = "command=cat&stdin=true&stdout=true") => `/k8s/clusters/${cluster}/api/v1/namespaces/default/pods/${pod}/${sub}?${query}`;
  return {
    env,
    up,
    stack,
    gw,
    acme,
    cluster,
    podPath,
    exec(pod, token = acme.operator, query) {
      const sock = new WebSocket(`${gw.httpUrl.replace(/^http/, "ws")}${podPath(pod, "exec", query)}`, ["v5.channel.k8s.io"], { headers: { authorization: `Bearer ${token}` } });
      const ws = Object.assign(sock, { received: [] as Buffer[], closed: new Promise<number>((r) => sock.once("close", r)) });
      ws.on("message", (d: Buffer) => ws.received.push(d));
      return new Promise((resolve, reject) => {
        ws.once("open", () => resolve(ws));
        ws.once("error", reject);
        ws.once("unexpected-response", (_req, res) => reject(new Error(`unexpected ${res.statusCode}`)));
      });
    },
    refused(pathAndQuery, token, upgrade = "websocket") {
      return refusedUpgrade(gw.httpUrl, pathAndQuery, token, { upgrade });
    },
    async close() {
      await gw.close();
      await stack.stop();
      await up.close();
      await env.cleanup();
    },
  };
}
