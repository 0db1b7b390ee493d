/**
 * `./daalu.sh demo`: the whole hub (the devhub) plus a few simulated customer
 * clusters, built the way the e2e tests build them (@daalu/netns):
 *
 *   this host's namespace: PostgreSQL, NATS, invite, audit, the gateway (web UI
 *     and REST, plain http) and a second gateway with TLS for kubectl (kubectl
 *     sends bearer tokens only over TLS)
 *   hub namespace (bridge 192.0.2.1): peering with the hub WireGuard node
 *     (wireguard-go) and the tunnel-proxy; PostgreSQL and NATS reached through
 *     relays on its loopback
 *   one edge namespace per cluster (192.0.2.1x on the bridge): `edge run` with
 *     wireguard-go, its API server (a kube-double in this process, with the
 *     fixtures' nodes, namespaces, deployments — one rollout progressing, one
 *     failing — pods and events) reached through a relay
 *
 * Each cluster is added through the REST API (or re-enrolled when an earlier
 * demo run left it), and the real `edge bootstrap` redeems its invite and
 * writes the tunnel Secret into the kube-double before `edge run` starts.
 * Without root or network namespaces only the hub runs.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { startHub, type Hub, type HubOptions } from "@daalu/devhub";
import { EDGE_MAIN, HUB_UNDERLAY_IP, Netns, netnsUnavailableReason, startEdgeRun, WG_PORT } from "@daalu/netns";
import { EDGE_NAMESPACE, EDGE_USER, defaultPolicy, selfSignedTls, startKubeDouble, type KubeDouble } from "@daalu/kube-double";
import { spawnProcess, type SpawnedProcess } from "@daalu/runtime";
import { startStack, type Stack } from "@daalu/stack";
import { Agent, request } from "undici";

export const DEMO_CLUSTERS = ["demo-eu-1", "demo-us-1", "demo-lab"] as const;
const SECRET = "daalu-edge-tunnel";
const CONNECT_TIMEOUT_MS = 90_000;

export interface DemoOptions extends Omit<HubOptions, "wireguard" | "hubEndpoint" | "netns" | "prepare" | "bootstrapAdmin"> {
  dataDir: string;
  /** host:port of the TLS gateway kubectl uses (port 0: any free port). */
  tlsListen: string;
  /** Cluster names (default DEMO_CLUSTERS). */
  clusters?: readonly string[];
}

export interface DemoCluster {
  name: string;
  id: string;
  /** A kubeconfig for this cluster through the hub (TLS gateway, admin token), mode 0600. */
  kubeconfig: string;
  status: string;
}

export interface Demo {
  hub: Hub;
  /** Why no clusters run (not root, no wireguard-go, …), or undefined. */
  hubOnly: string | undefined;
  /** The TLS gateway kubectl talks to. */
  tlsUrl: string | undefined;
  clusters: DemoCluster[];
  /** The network namespaces made for this run. */
  namespaces: string[];
  stop(): Promise<void>;
}

interface Api {
  (method: string, p: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }>;
}

function apiOf(url: string, token: string): Api {
  return async (method, p, body) => {
    const res = await fetch(url + p, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };
}

/**
 * The admin token: the one this start made (saved to `admin-token`, 0600), else the saved one; and the
 * password of the user `admin` when this start made it (saved to `admin-password`, 0600).
 */
async function adminToken(dataDir: string, hub: Pick<Hub, "adminToken" | "adminPassword">): Promise<string> {
  const file = path.join(dataDir, "admin-token");
  if (hub.adminPassword) await writeFile(path.join(dataDir, "admin-password"), `${hub.adminPassword}\n`, { mode: 0o600 });
  if (hub.adminToken) {
    await writeFile(file, `${hub.adminToken}\n`, { mode: 0o600 });
    return hub.adminToken;
  }
  return (await readFile(file, "utf8")).trim();
}

export async function startDemo(o: DemoOptions): Promise<Demo> {
  const output = o.output ?? (() => undefined);
  const stops: Array<() => Promise<unknown> | unknown> = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await Promise.resolve().then(s).catch((err: unknown) => output("demo", `stop: ${err instanceof Error ? err.message : String(err)}`));
  };
  await mkdir(o.dataDir, { recursive: true });
  const hubOnly = netnsUnavailableReason();
  try {
    if (hubOnly) {
      output("demo", `no simulated clusters here: ${hubOnly}; running the hub alone`);
      const hub = await startHub({ ...o, bootstrapAdmin: true });
      stops.push(() => hub.stop());
      await adminToken(o.dataDir, hub);
      return { hub, hubOnly, tlsUrl: undefined, clusters: [], namespaces: [], stop };
    }

    const net = await Netns.create((o.clusters ?? DEMO_CLUSTERS).length, { exitOnSignal: false });
    stops.push(() => net.cleanup());
    const hubIface = net.ifname("dh");
    const hub = await startHub({
      ...o,
      bootstrapAdmin: true,
      wireguard: { interface: hubIface, backend: "wireguard-go", port: WG_PORT },
      hubEndpoint: `${HUB_UNDERLAY_IP}:${WG_PORT}`,
      // Peering's hub node owns the WireGuard interface; the tunnel-proxy dials tunnel addresses through it.
      netns: { peering: net.hub, "tunnel-proxy": net.hub },
      // Both reach PostgreSQL and NATS at the same 127.0.0.1 addresses inside the hub namespace.
      prepare: ({ databaseUrl, natsUrl }) => net.hub.forwardUrls(databaseUrl, natsUrl),
    });
    stops.push(() => hub.stop());
    const token = await adminToken(o.dataDir, hub);
    output("demo", `hub up at ${hub.publicUrl} (peering's WireGuard node and the tunnel-proxy in namespace ${net.hub.ns})`);

    // kubectl sends bearer tokens only over TLS: a second gateway with a throwaway certificate for 127.0.0.1.
    const tls = selfSignedTls();
    const tlsFiles = { certFile: path.join(o.dataDir, "gateway-tls.crt"), keyFile: path.join(o.dataDir, "gateway-tls.key"), caFile: path.join(o.dataDir, "gateway-ca.crt") };
    await writeFile(tlsFiles.certFile, tls.cert);
    await writeFile(tlsFiles.keyFile, tls.key, { mode: 0o600 });
    await writeFile(tlsFiles.caFile, tls.ca);
    const tlsGateway: Stack = await startStack({
      databaseUrl: hub.databaseUrl,
      natsUrl: hub.natsUrl,
      prefix: hub.prefix,
      services: ["gateway"],
      env: { LOG_LEVEL: "info" },
      ...(o.baseEnv ? { baseEnv: o.baseEnv } : {}),
      gateway: { listen: o.tlsListen, tls: tlsFiles },
      output: (name, line) => output(`${name}-tls`, line),
      keepOutput: false,
      detached: true,
    });
    stops.push(() => tlsGateway.stop());
    const api = apiOf(hub.gatewayUrls[0]!, token);
    const tlsAgent = new Agent({ connect: { ca: tls.ca } });
    stops.push(() => tlsAgent.close());
    const tlsUrl = tlsGateway.gatewayUrl;

    const existing = await api("GET", "/v1/clusters");
    if (existing.status !== 200) throw new Error(`GET /v1/clusters: ${existing.status} ${JSON.stringify(existing.body)}`);
    const byName = new Map((existing.body["clusters"] as { id: string; name: string }[]).map((c) => [c.name, c.id]));

    const names = o.clusters ?? DEMO_CLUSTERS;
    const clusters = await Promise.all(
      names.map(async (name, i): Promise<DemoCluster> => {
        const kube = await startKubeDouble();
        stops.push(() => kube.close());
        failRollout(kube);
        const id = await enroll(o, api, kube, name, byName.get(name), hub.gatewayUrls[0]!, net.dir, output);
        const edgeHost = net.edges[i]!;
        await edgeHost.forward(kube.port, { host: "127.0.0.1", port: kube.port });
        const edgeKubeconfig = path.join(net.dir, `${name}-edge.kubeconfig`);
        await writeFile(edgeKubeconfig, kube.kubeconfig({ token: "edge-token", namespace: EDGE_NAMESPACE }), { mode: 0o600 });
        const edge: SpawnedProcess = startEdgeRun(
          edgeHost,
          { EDGE_KUBECONFIG: edgeKubeconfig, EDGE_NAMESPACE, EDGE_SECRET_NAME: SECRET, EDGE_WG_INTERFACE: net.ifname(`de${i}`), EDGE_WG_BACKEND: "wireguard-go", EDGE_PROBE_ADDR: "127.0.0.1:8081" },
          { onLine: (l) => output(`edge-${name}`, l), keepOutput: false, detached: true },
        );
        stops.push(() => edge.stop());
        await edge.ready;
        output("demo", `${name}: bootstrapped, edge running in namespace ${edgeHost.ns}`);
        const kubeconfig = path.join(o.dataDir, `${name}.kubeconfig`);
        // From the TLS gateway, so its server is the https endpoint (with this run's CA embedded).
        const kc = await request(`${tlsUrl}/v1/clusters/${id}/kubeconfig?token=include`, { dispatcher: tlsAgent, headers: { authorization: `Bearer ${token}` } });
        const text = await kc.body.text();
        if (kc.statusCode !== 200) throw new Error(`kubeconfig of ${name}: ${kc.statusCode} ${text}`);
        await writeFile(kubeconfig, text, { mode: 0o600 });
        return { name, id, kubeconfig, status: await waitConnected(api, id) };
      }),
    );
    return { hub, hubOnly: undefined, tlsUrl, clusters, namespaces: [...net.namespaces], stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Adds the cluster through the REST API (or re-enrolls the one an earlier demo
 * run left, keeping its address), then runs the real `edge bootstrap` (the
 * chart's Job) against the hub: it redeems the invite and writes the tunnel
 * Secret into the cluster's API server. Returns the cluster id.
 */
async function enroll(o: DemoOptions, api: Api, kube: KubeDouble, name: string, knownId: string | undefined, hubUrl: string, dir: string, output: (name: string, line: string) => void): Promise<string> {
  // The edge may read its own tunnel Secret, as the chart's Role allows.
  kube.setRbac(EDGE_USER, [...defaultPolicy()[EDGE_USER]!, { apiGroups: [""], resources: ["secrets"], resourceNames: [SECRET], verbs: ["get"], namespaces: [EDGE_NAMESPACE] }]);
  const r = knownId ? await api("POST", `/v1/clusters/${knownId}/invites`) : await api("POST", "/v1/clusters", { name });
  if (r.status !== 201) throw new Error(`${knownId ? "re-enroll" : "add"} cluster ${name}: ${r.status} ${JSON.stringify(r.body)}`);
  const id = knownId ?? (r.body["cluster"] as { id: string }).id;
  const bootstrapKubeconfig = path.join(dir, `${name}-bootstrap.kubeconfig`);
  await writeFile(bootstrapKubeconfig, kube.kubeconfig({ token: "bootstrap-token", namespace: EDGE_NAMESPACE }), { mode: 0o600 });
  const boot = spawnProcess({
    name: `bootstrap-${name}`,
    entry: EDGE_MAIN,
    args: ["bootstrap"],
    ...(o.baseEnv ? { baseEnv: o.baseEnv } : {}),
    env: { LOG_LEVEL: "info", EDGE_KUBECONFIG: bootstrapKubeconfig, EDGE_NAMESPACE, EDGE_SECRET_NAME: SECRET, EDGE_HUB_URL: hubUrl, EDGE_BOOTSTRAP_TOKEN: String(r.body["token"]) },
    onLine: (l) => output(`edge-${name}`, l),
    detached: true,
  });
  boot.ready.catch(() => undefined); // a Job logs no ready line; its exit code decides
  const code = await boot.exited;
  if (code !== 0) throw new Error(`edge bootstrap of ${name} exited ${code}:\n${boot.tail()}`);
  return id;
}

/** Polls the REST API until the cluster is connected (or the time is up); returns its last status. */
async function waitConnected(api: Api, id: string): Promise<string> {
  const until = Date.now() + CONNECT_TIMEOUT_MS;
  for (;;) {
    const r = await api("GET", `/v1/clusters/${id}`);
    const status = String((r.body["cluster"] as { status?: string } | undefined)?.status ?? r.status);
    if (status === "connected" || Date.now() > until) return status;
    await sleep(250);
  }
}

/**
 * The fixtures' shop/worker rollout (its pod in CrashLoopBackOff) past its
 * progress deadline, as a real controller marks it: `kubectl rollout status`
 * fails on it, while shop/api's rollout is still progressing.
 */
function failRollout(kube: KubeDouble): void {
  kube.store.update("deployments", "shop", "worker", (d) => {
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const conditions = (d["status"] as { conditions: Record<string, string>[] }).conditions;
    const progressing = conditions.find((c) => c["type"] === "Progressing");
    if (progressing) Object.assign(progressing, { status: "False", reason: "ProgressDeadlineExceeded", message: 'ReplicaSet "worker-fgnncblcch" has timed out progressing.', lastUpdateTime: now, lastTransitionTime: now });
  });
}
