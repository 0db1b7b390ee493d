/**
 * The gateway's HTTP app (buildApp, as service.ts builds it) with the k8s
 * proxy plugin registered, behind a TLS terminator: kubectl sends bearer
 * tokens only over https, and the gateway itself serves plain http (TLS ends
 * at the ingress in production), so the terminator plays the ingress.
 */
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { CallerKind } from "@daalu/proto";
import { inviteClient } from "@daalu/invite";
import { peeringClient } from "@daalu/peering";
import type { FastifyInstance } from "fastify";
import { createLogger, type Logger } from "@daalu/runtime";
import { selfSignedTls, type KubeDouble } from "@daalu/kube-double";
import { KubeAccess } from "@daalu/edge";
import type { ApiServerRef } from "@daalu/edge/proxy";
import { writeFileSync } from "node:fs";
import path from "node:path";
import type { TestEnv } from "@daalu/testing";
import { openGatewayStore } from "../src/admin.js";
import { Authenticator } from "../src/auth.js";
import { UserStore } from "../src/adapters/pg/user-store.js";
import { DEFAULT_GATEWAY_SESSION_IDLE_TTL_MS, DEFAULT_GATEWAY_SESSION_TTL_MS } from "../src/config.js";
import { Sessions } from "../src/sessions.js";
import { buildApp } from "../src/http/app.js";
import { k8sProxyPlugin } from "../src/http/k8s-proxy.js";
import { relayUpgrades } from "./ingress-upgrades.js";

export interface K8sGateway {
  /** https://127.0.0.1:PORT (the terminator). */
  url: string;
  /** The gateway's own http URL. */
  httpUrl: string;
  ca: string;
  close(): Promise<void>;
}

/** What extra route plugins get to register themselves with (see startK8sGateway's `register`). */
export interface K8sGatewayParts {
  app: FastifyInstance;
  auth: Authenticator;
  logger: Logger;
}

export async function startK8sGateway(env: TestEnv, register?: (parts: K8sGatewayParts) => Promise<void>): Promise<K8sGateway> {
  const store = await openGatewayStore(env.databaseUrl, { poolSize: 4 });
  const logger = createLogger("gateway", process.env["LOG_LEVEL"] ?? "silent");
  const caller = { kind: CallerKind.SERVICE, id: "gateway" };
  const peering = peeringClient(env.nc, { prefix: env.prefix, defaults: { caller } });
  const sessions = new Sessions(new UserStore(store.db), { ttlMs: DEFAULT_GATEWAY_SESSION_TTL_MS, idleMs: DEFAULT_GATEWAY_SESSION_IDLE_TTL_MS, failuresPerUser: 5, failuresPerIp: 30 }, Date.now, logger);
  const auth = new Authenticator(store, 5_000, logger, sessions);
  const { app } = buildApp({
    invite: inviteClient(env.nc, { prefix: env.prefix, defaults: { caller } }),
    peering,
    auth,
    logger,
    ready: async () => undefined,
    bodyLimit: 64 * 1024,
    bootstrapRate: 0,
    bootstrapBurst: 1,
  });
  const tls = selfSignedTls();
  // publicUrl is the terminator's, known only after it binds: bind it first.
  const front = https.createServer({ key: tls.key, cert: tls.cert });
  await new Promise<void>((r) => front.listen(0, "127.0.0.1", r));
  const url = `https://127.0.0.1:${(front.address() as AddressInfo).port}`;
  await app.register(k8sProxyPlugin, { peering, nc: env.nc, natsPrefix: env.prefix, publicUrl: url, caPem: tls.ca, logger });
  await register?.({ app, auth, logger });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const httpPort = (app.server.address() as AddressInfo).port;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  front.on("request", (req, res) => {
    const up = http.request({ host: "127.0.0.1", port: httpPort, method: req.method, path: req.url, headers: req.headers, agent }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      res.flushHeaders(); // as an ingress does: watch clients wait for the head
      ur.pipe(res);
    });
    up.on("error", () => res.destroy());
    res.on("close", () => up.destroy());
    req.pipe(up);
  });
  // Upgrades (kubectl exec, attach, port-forward), as an ingress carries them.
  const endUpgrades = relayUpgrades(front, httpPort);
  return {
    url,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    ca: tls.ca,
    async close() {
      front.closeAllConnections();
      endUpgrades();
      await new Promise((r) => front.close(r));
      agent.destroy();
      await app.close();
      await store.close();
    },
  };
}

/**
 * The edge's credentials as in a pod (startTunnelStack's `edgeApiServer`): its KubeAccess, logged in as the pod's own
 * account (a kubeconfig written in `dir`), mints the proxy account's token (TokenRequest).
 */
export function edgeAsPod(dir: string): (kube: KubeDouble) => Promise<ApiServerRef> {
  return async (kube) => {
    const podConfig = path.join(dir, "edge-pod.kubeconfig");
    writeFileSync(podConfig, kube.kubeconfig({ token: "edge-token", namespace: "daalu-edge" }));
    const access = await KubeAccess.open({ kubeconfig: podConfig, namespace: "daalu-edge", secretName: "daalu-edge-tunnel", proxyServiceAccount: "daalu-edge-proxy", timeoutMs: 5_000 });
    return access.apiServerRef();
  };
}
