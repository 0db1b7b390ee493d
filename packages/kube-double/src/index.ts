/**
 * @daalu/kube-double — a Kubernetes API server test double that the real
 * kubectl and @kubernetes/client-node work against: discovery, Table and
 * plain JSON lists, watch with resourceVersion resume, pod logs (tail,
 * follow, timestamps), bearer-token auth, ServiceAccount tokens from the
 * TokenRequest API (`POST …/serviceaccounts/{name}/token`, expiring) and RBAC
 * with the API server's own 401/403/404 Status objects. Lists page with
 * `limit`/`continue` (paging.ts); OpenAPI v3/v2 documents trimmed from
 * upstream's (openapi.ts, for `kubectl explain`); the self reviews behind
 * `kubectl auth can-i`/`whoami` answered from its RBAC plus the bootstrap
 * roles every signed-in user holds (reviews.ts, rbac.ts; their protobuf
 * bodies read by protobuf.ts); `/healthz`, `/livez`, `/readyz` with
 * `?verbose` (health.ts); `pods/exec`, `pods/attach` and `pods/portforward`
 * over WebSocket (streams/): a container of a few commands over a per-pod
 * in-memory file system, an echo loop to attach to, port-forward to TCP
 * targets the test sets. Loaded with the fixtures in testdata/kube.
 *
 * Tests drive it through the returned handle, not HTTP: `store` to add,
 * change and delete objects (watchers see the events), `appendLog`/`endLogs`,
 * `setRbac`, `setPortTarget`, `podFs`, and `requests`/`sessions` to assert
 * what went through.
 */
import type http from "node:http";
import { createHandler, listen, portOf } from "./server.js";
import type { RequestRecord, ServerState } from "./state.js";
import { ObjectStore } from "./store.js";
import { LogStore } from "./logs.js";
import { DEFAULT_TOKENS, defaultPolicy, type KubeUser, type PolicyRule, type RbacPolicy } from "./rbac.js";
import { DEFAULT_FIXTURES_DIR, loadFixtures } from "./fixtures.js";
import { selfSignedTls, type TlsMaterial } from "./tls.js";
import { unsentBytes } from "./paced.js";
import { createTokenHandlers } from "./tokens.js";
import { createUpgradeHandler, StreamRuntime } from "./streams/upgrade.js";
import type { PodFs } from "./streams/pod-fs.js";
import type { SessionFilter, SessionRecord } from "./streams/sessions.js";

export { ObjectStore, type KubeObject, type StoreEvent } from "./store.js";
export { LogStore, type LogLine } from "./logs.js";
export { ADMIN_USER, BOOTSTRAP_USER, DEFAULT_TOKENS, EDGE_NAMESPACE, EDGE_PROXY_SERVICE_ACCOUNT, EDGE_PROXY_USER, EDGE_TUNNEL_CONFIGMAP, EDGE_TUNNEL_SECRET, EDGE_USER, defaultPolicy, serviceAccountUser, type KubeUser, type PolicyRule, type RbacPolicy } from "./rbac.js";
export { DEFAULT_FIXTURES_DIR, loadFixtures } from "./fixtures.js";
export { selfSignedTls, type TlsMaterial } from "./tls.js";
export { SERVER_VERSION } from "./server.js";
export type { RequestRecord } from "./state.js";
export { RESOURCES, type ResourceInfo } from "./resources.js";
export { PodFs, type FsEntry } from "./streams/pod-fs.js";
export type { EndReason, SessionFilter, SessionKind, SessionRecord } from "./streams/sessions.js";
export { COMMANDS } from "./streams/commands.js";

export const DEFAULT_HOST = "127.0.0.1";

export interface KubeDoubleOptions {
  /**
   * TLS key/cert to serve https with (e.g. the edge's in-cluster config, which
   * wants https + a CA), `false` for plain http, default: a generated CA and
   * server cert. Note kubectl sends no bearer token to a plain-http server.
   */
  tls?: { key: string; cert: string; ca?: string } | false;
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Bearer token → user. Default: DEFAULT_TOKENS (edge pod, edge proxy, bootstrap, admin). Tokens minted by TokenRequest are added as they are issued. */
  tokens?: Record<string, KubeUser>;
  /** User → rules. Default: defaultPolicy(). */
  policy?: RbacPolicy;
  /** Treat requests without a token as system:anonymous (RBAC decides) instead of 401. */
  anonymous?: boolean;
  /** Load fixtures: `true` (default) from testdata/kube, a directory, or `false` for an empty cluster (namespaces only). */
  fixtures?: boolean | string;
}

export interface KubeConfigOptions {
  /** Bearer token of the user. */
  token: string;
  /** Default namespace of the context. Default: "default". */
  namespace?: string;
  /** Use insecure-skip-tls-verify instead of embedding the CA. */
  insecure?: boolean;
}

export interface KubeDouble {
  /** `https://127.0.0.1:PORT` (or http). */
  url: string;
  port: number;
  /** PEM CA that verifies the server certificate (undefined for http, or when tls was given without `ca`). */
  ca: string | undefined;
  store: ObjectStore;
  logs: LogStore;
  /** Every request seen, in order. */
  requests: RequestRecord[];
  /** Count requests matching the given fields (or predicate). */
  requestCount(filter?: Partial<RequestRecord> | ((r: RequestRecord) => boolean)): number;
  /** Replace the whole policy, or one user's rules. */
  setRbac(policy: RbacPolicy): void;
  setRbac(user: string, rules: PolicyRule[]): void;
  /** Map another bearer token to a user. */
  addToken(token: string, user: KubeUser): void;
  /**
   * Bytes open watch/log streams have written that their clients have not
   * taken yet (queued in this server because the connection pushes back; log
   * streams write a piece only once the socket took the last, as a real API
   * server does): how a test sees that a slow reader's backpressure reached
   * the API server.
   */
  unsentStreamBytes(): number;
  /** Append log lines to a container; `logs -f` streams see them at once. */
  appendLog(namespace: string, pod: string, container: string, lines: string | string[], opts?: { time?: Date; previous?: boolean }): void;
  /** End `follow` log streams of a pod (or one container), as a container exit does. */
  endLogs(namespace: string, pod: string, container?: string): void;
  /**
   * Where `pods/portforward` to a pod's port connects: "host:port" of a TCP
   * server the test runs (undefined removes it; a port without a target
   * answers the kubelet's "connection refused" on the error channel).
   */
  setPortTarget(namespace: string, pod: string, port: number, target: string | undefined): void;
  /** The pod's in-memory file system that exec'd commands (cat, tar, …) see; created with /etc/hostname on first use. */
  podFs(namespace: string, pod: string): PodFs;
  /** exec/attach/portforward sessions, running and ended (with end time, reason, exit code, bytes), oldest first. */
  sessions(filter?: SessionFilter): SessionRecord[];
  /** A kubeconfig (YAML) that points kubectl at this server as the token's user. */
  kubeconfig(opts: KubeConfigOptions): string;
  /** Stop: ends open watch/log streams and exec/attach/portforward sessions, closes the server. */
  close(): Promise<void>;
}

const BASE_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

export async function startKubeDouble(opts: KubeDoubleOptions = {}): Promise<KubeDouble> {
  const store = new ObjectStore();
  const logs = new LogStore();
  const fx = opts.fixtures ?? true;
  if (fx) {
    const { objects, logs: fixtureLogs } = loadFixtures(typeof fx === "string" ? fx : DEFAULT_FIXTURES_DIR);
    for (const o of objects) store.load(o);
    const now = Date.now();
    for (const [podKey, containers] of Object.entries(fixtureLogs)) {
      const [ns, pod] = podKey.split("/") as [string, string];
      for (const [c, lines] of Object.entries(containers)) for (const l of lines) logs.append(ns, pod, c, l.text, { time: new Date(now - l.ago * 1000) });
    }
  } else {
    for (const n of BASE_NAMESPACES) store.put({ apiVersion: "v1", kind: "Namespace", metadata: { name: n, labels: { "kubernetes.io/metadata.name": n } }, spec: { finalizers: ["kubernetes"] }, status: { phase: "Active" } });
  }
  let tls: { key: string; cert: string; ca?: string } | undefined;
  if (opts.tls === undefined) tls = selfSignedTls();
  else if (opts.tls) tls = opts.tls;
  const state: ServerState = {
    store, logs,
    tokens: new Map(Object.entries(opts.tokens ?? DEFAULT_TOKENS)),
    policy: opts.policy ?? defaultPolicy(),
    anonymous: opts.anonymous ?? false,
    tokenExpiry: new Map(),
    requests: [],
  };
  const streams = new Set<http.ServerResponse>();
  const host = opts.host ?? DEFAULT_HOST;
  const handle = createHandler(state, streams); // answers every failure itself: never rejects
  const server = await listen((req, res) => void handle(req, res), tls, host, opts.port ?? 0);
  const runtime = new StreamRuntime(state);
  server.on("upgrade", createUpgradeHandler(state, runtime, createTokenHandlers(state).authenticate));
  const port = portOf(server);
  const url = `${tls ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${port}`;
  const ca = tls?.ca;

  return {
    url, port, ca, store, logs,
    requests: state.requests,
    requestCount(filter) {
      if (!filter) return state.requests.length;
      if (typeof filter === "function") return state.requests.filter(filter).length;
      return state.requests.filter((r) => Object.entries(filter).every(([k, v]) => JSON.stringify(r[k as keyof RequestRecord]) === JSON.stringify(v))).length;
    },
    setRbac(a: RbacPolicy | string, rules?: PolicyRule[]) {
      if (typeof a === "string") state.policy = { ...state.policy, [a]: rules ?? [] };
      else state.policy = a;
    },
    addToken(token, user) {
      state.tokens.set(token, user);
    },
    unsentStreamBytes() {
      let n = 0;
      for (const r of streams) n += unsentBytes(r);
      return n;
    },
    appendLog(ns, pod, container, lines, o) {
      logs.append(ns, pod, container, lines, o);
    },
    endLogs(ns, pod, container) {
      logs.end(ns, pod, container);
    },
    setPortTarget(ns, pod, port, target) {
      runtime.setPortTarget(ns, pod, port, target);
    },
    podFs(ns, pod) {
      return runtime.fs(ns, pod);
    },
    sessions(filter) {
      return runtime.sessions.list(filter);
    },
    kubeconfig({ token, namespace = "default", insecure = false }) {
      const clusterTls = !tls ? "" : insecure || !ca ? "\n    insecure-skip-tls-verify: true" : `\n    certificate-authority-data: ${Buffer.from(ca).toString("base64")}`;
      return [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- name: kube-double",
        "  cluster:",
        `    server: ${url}${clusterTls}`,
        "users:",
        "- name: kube-double-user",
        "  user:",
        `    token: ${JSON.stringify(token)}`,
        "contexts:",
        "- name: kube-double",
        "  context:",
        "    cluster: kube-double",
        "    user: kube-double-user",
        `    namespace: ${namespace}`,
        "current-context: kube-double",
        "",
      ].join("\n");
    },
    async close() {
      for (const s of streams) s.end();
      streams.clear();
      runtime.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

export type { TlsMaterial as KubeDoubleTls };
