import { readFile } from "node:fs/promises";
import { ApiException, AuthorizationV1Api, CoreV1Api, KubeConfig, VersionApi, type V1ConfigMap, type V1Node, type V1Secret } from "@kubernetes/client-node";
import { createLogger, type Logger } from "@daalu/runtime";
import { DEFAULT_PUBLIC_CONFIGMAP_NAME, type KubeConfigRef } from "../config.js";
import type { ApiServerRef } from "../proxy/index.js";
import { decodeTunnelSecret, encodeTunnelSecret, InvalidTunnelConfig, type TunnelSecret } from "../domain/tunnel-config.js";
import { BadTunnelSecretError, ConfigMapForbiddenError, KubeUnavailableError, SecretForbiddenError } from "../errors.js";
import { PROXY_TOKEN_SECONDS, ProxyTokenSource } from "./proxy-token.js";

/** Where the pod's namespace is mounted with the ServiceAccount token. */
export const SA_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/** Label that marks the bootstrap state, so `kubectl get secret -L daalu.dev/bootstrap` shows it. */
const STATE_LABEL = "daalu.dev/bootstrap";

/** The API server's error as an operator reads it: status code plus the server's own message, verbatim. */
export function describeKubeError(err: unknown): string {
  if (err instanceof ApiException) {
    const body = err.body as unknown;
    let msg: string | undefined;
    if (typeof body === "string") {
      try {
        msg = (JSON.parse(body) as { message?: string }).message ?? body;
      } catch {
        msg = body;
      }
    } else if (body && typeof body === "object") msg = (body as { message?: string }).message;
    return `HTTP ${err.code}: ${(msg ?? "").trim() || "no message"}`;
  }
  if (err instanceof Error) {
    const cause = err.cause as { code?: string; message?: string } | undefined;
    return cause?.message && !err.message.includes(cause.message) ? `${err.message}: ${cause.message}` : err.message;
  }
  return String(err);
}

function statusOf(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what}: no answer from the Kubernetes API within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

/** Facts GetStatus reports about the cluster. */
export interface ClusterFacts {
  kubernetesVersion: string;
  nodeCount: number;
  nodesReady: number;
}

/**
 * The edge's only door to the Kubernetes API. Two identities:
 * - the pod's own ServiceAccount (in-cluster config by default, a kubeconfig
 *   file for tests: EDGE_KUBECONFIG) reads the tunnel Secret (bootstrap and
 *   run) and mints tokens of the proxy account;
 * - the proxy ServiceAccount (read-only, no Secrets) makes every call the hub
 *   asks for (Proxy) and the health probe behind GetStatus.
 */
export class KubeAccess {
  private proxyToken: Promise<ProxyTokenSource> | undefined;
  private proxyApis: { token: string; core: CoreV1Api; version: VersionApi; authz: AuthorizationV1Api } | undefined;

  private constructor(
    private readonly kc: KubeConfig,
    private readonly core: CoreV1Api,
    readonly namespace: string,
    readonly secretName: string,
    readonly publicConfigMapName: string,
    private readonly proxyServiceAccount: string,
    private readonly timeoutMs: number,
    private readonly logger: Logger,
  ) {}

  static async open(ref: KubeConfigRef, logger: Logger = createLogger("edge", "silent")): Promise<KubeAccess> {
    const kc = new KubeConfig();
    if (ref.kubeconfig) kc.loadFromFile(ref.kubeconfig);
    else kc.loadFromCluster();
    let namespace = ref.namespace;
    if (!namespace) {
      try {
        namespace = (await readFile(SA_NAMESPACE_FILE, "utf8")).trim();
      } catch {
        namespace = kc.getContextObject(kc.getCurrentContext())?.namespace ?? "";
      }
    }
    if (!namespace) throw new KubeUnavailableError(`cannot tell the pod's namespace: set EDGE_NAMESPACE (the chart sets it from metadata.namespace)`);
    return new KubeAccess(kc, kc.makeApiClient(CoreV1Api), namespace, ref.secretName, ref.publicConfigMapName ?? DEFAULT_PUBLIC_CONFIGMAP_NAME, ref.proxyServiceAccount, ref.timeoutMs, logger.child({ component: "kube" }));
  }

  private where(): string {
    return `secret ${this.namespace}/${this.secretName}`;
  }

  private forbidden(verb: string, err: unknown): SecretForbiddenError {
    return new SecretForbiddenError(
      `the ServiceAccount may not ${verb} ${this.where()} (${describeKubeError(err)}). ` +
        `It needs a Role in namespace ${this.namespace} with verbs [create, get, update] on resource "secrets" (the chart's bootstrap Role), bound to the pod's ServiceAccount`,
      err,
    );
  }

  private translate(verb: string, err: unknown): Error {
    if (statusOf(err) === 403 || statusOf(err) === 401) return this.forbidden(verb, err);
    return new KubeUnavailableError(`cannot ${verb} ${this.where()}: ${describeKubeError(err)}`, err);
  }

  /** The raw Secret, undefined when absent. */
  private async readRaw(): Promise<V1Secret | undefined> {
    try {
      return await withTimeout(this.core.readNamespacedSecret({ name: this.secretName, namespace: this.namespace }), this.timeoutMs, `get ${this.where()}`);
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw this.translate("get", err);
    }
  }

  /** The tunnel Secret, decoded; undefined when it does not exist. */
  async readTunnelSecret(): Promise<TunnelSecret | undefined> {
    const s = await this.readRaw();
    if (!s) return undefined;
    const data: Record<string, string> = {};
    for (const [k, v] of Object.entries(s.data ?? {})) data[k] = Buffer.from(v, "base64").toString("utf8");
    for (const [k, v] of Object.entries(s.stringData ?? {})) data[k] = v;
    try {
      return decodeTunnelSecret(data);
    } catch (err) {
      const detail = err instanceof InvalidTunnelConfig ? err.message : String(err);
      throw new BadTunnelSecretError(`${this.where()} is unusable (${detail}); delete it and reinstall with a new token`);
    }
  }

  private body(s: TunnelSecret, resourceVersion?: string, owner?: { name: string; uid: string }): V1Secret {
    const data: Record<string, string> = {};
    for (const [k, v] of Object.entries(encodeTunnelSecret(s))) data[k] = Buffer.from(v, "utf8").toString("base64");
    return {
      apiVersion: "v1",
      kind: "Secret",
      type: "Opaque",
      metadata: {
        name: this.secretName,
        namespace: this.namespace,
        labels: { "app.kubernetes.io/name": "daalu-edge", "app.kubernetes.io/component": "tunnel", [STATE_LABEL]: s.state },
        ...(resourceVersion ? { resourceVersion } : {}),
        ...(owner ? { ownerReferences: [{ apiVersion: "v1", kind: "ServiceAccount", name: owner.name, uid: owner.uid }] } : {}),
      },
      data,
    };
  }

  /** Creates the Secret; false when it already exists (someone else won the race). */
  async createTunnelSecret(s: TunnelSecret, owner?: { name: string; uid: string }): Promise<boolean> {
    try {
      await withTimeout(this.core.createNamespacedSecret({ namespace: this.namespace, body: this.body(s, undefined, owner) }), this.timeoutMs, `create ${this.where()}`);
      return true;
    } catch (err) {
      if (statusOf(err) === 409) return false;
      throw this.translate("create", err);
    }
  }

  /** Replaces the Secret's data, keeping its metadata (owner, labels); optimistic on resourceVersion. */
  async updateTunnelSecret(s: TunnelSecret): Promise<void> {
    for (let i = 0; ; i++) {
      const cur = await this.readRaw();
      if (!cur) throw new KubeUnavailableError(`${this.where()} disappeared while bootstrapping`);
      const next = this.body(s, cur.metadata?.resourceVersion);
      next.metadata = { ...cur.metadata, labels: { ...cur.metadata?.labels, ...next.metadata!.labels } };
      try {
        await withTimeout(this.core.replaceNamespacedSecret({ name: this.secretName, namespace: this.namespace, body: next }), this.timeoutMs, `update ${this.where()}`);
        return;
      } catch (err) {
        if (statusOf(err) === 409 && i < 5) continue;
        throw this.translate("update", err);
      }
    }
  }

  /**
   * Writes the public tunnel configuration (no key, no token) to its
   * ConfigMap: created when absent, replaced when its data differ, left alone
   * otherwise. Needs create, and get/update on that one name (the chart's
   * bootstrap Role).
   */
  async writePublicConfig(data: Record<string, string>, owner?: { name: string; uid: string }): Promise<"created" | "updated" | "unchanged"> {
    const name = this.publicConfigMapName;
    const where = `configmap ${this.namespace}/${name}`;
    const fail = (verb: string, err: unknown): Error =>
      statusOf(err) === 403 || statusOf(err) === 401
        ? new ConfigMapForbiddenError(
            `the ServiceAccount may not ${verb} ${where} (${describeKubeError(err)}). ` +
              `It needs a Role in namespace ${this.namespace} with "create" on "configmaps" and "get", "update" on the configmap ${name} (the chart's bootstrap Role)`,
            err,
          )
        : new KubeUnavailableError(`cannot ${verb} ${where}: ${describeKubeError(err)}`, err);
    const labels = { "app.kubernetes.io/name": "daalu-edge", "app.kubernetes.io/component": "tunnel" };
    for (let i = 0; ; i++) {
      let cur: V1ConfigMap | undefined;
      try {
        cur = await withTimeout(this.core.readNamespacedConfigMap({ name, namespace: this.namespace }), this.timeoutMs, `get ${where}`);
      } catch (err) {
        if (statusOf(err) !== 404) throw fail("get", err);
      }
      try {
        if (!cur) {
          const metadata = { name, namespace: this.namespace, labels, ...(owner ? { ownerReferences: [{ apiVersion: "v1", kind: "ServiceAccount", name: owner.name, uid: owner.uid }] } : {}) };
          await withTimeout(this.core.createNamespacedConfigMap({ namespace: this.namespace, body: { apiVersion: "v1", kind: "ConfigMap", metadata, data } }), this.timeoutMs, `create ${where}`);
          return "created";
        }
        if (JSON.stringify(cur.data ?? {}) === JSON.stringify(data) && !cur.binaryData) return "unchanged";
        const body: V1ConfigMap = { apiVersion: "v1", kind: "ConfigMap", metadata: { ...cur.metadata, labels: { ...cur.metadata?.labels, ...labels } }, data };
        await withTimeout(this.core.replaceNamespacedConfigMap({ name, namespace: this.namespace, body }), this.timeoutMs, `update ${where}`);
        return "updated";
      } catch (err) {
        // 409: someone created or changed it between our read and write; read again.
        if (statusOf(err) === 409 && i < 5) continue;
        throw fail(cur ? "update" : "create", err);
      }
    }
  }

  /** The ServiceAccount's uid (to own the Secret), undefined when it cannot be read. */
  async serviceAccountUid(name: string): Promise<string | undefined> {
    try {
      const sa = await withTimeout(this.core.readNamespacedServiceAccount({ name, namespace: this.namespace }), this.timeoutMs, `get serviceaccount ${name}`);
      return sa.metadata?.uid;
    } catch {
      return undefined;
    }
  }

  /** A new token of the proxy ServiceAccount (TokenRequest, with the pod's own account). */
  private async mintProxyToken(): Promise<{ token: string; expiresAtMs: number }> {
    const sa = `serviceaccount ${this.namespace}/${this.proxyServiceAccount}`;
    try {
      const tr = await withTimeout(
        this.core.createNamespacedServiceAccountToken({ name: this.proxyServiceAccount, namespace: this.namespace, body: { spec: { audiences: [], expirationSeconds: PROXY_TOKEN_SECONDS } } }),
        this.timeoutMs,
        `create a token of ${sa}`,
      );
      if (!tr.status?.token) throw new Error("the TokenRequest answer holds no token");
      return { token: tr.status.token, expiresAtMs: new Date(tr.status.expirationTimestamp).getTime() };
    } catch (err) {
      const hint = statusOf(err) === 403 ? ` The pod's ServiceAccount needs "create" on "serviceaccounts/token" for ${this.proxyServiceAccount} (the chart's agent Role)` : "";
      throw new KubeUnavailableError(`cannot create a token of ${sa}: ${describeKubeError(err)}.${hint}`, err);
    }
  }

  /** The proxy account's token source, started once (a failed start is retried on the next call). */
  private proxyTokens(): Promise<ProxyTokenSource> {
    this.proxyToken ??= (async () => {
      const src = new ProxyTokenSource(() => this.mintProxyToken(), this.logger);
      await src.start();
      return src;
    })().catch((err: unknown) => {
      this.proxyToken = undefined;
      throw err;
    });
    return this.proxyToken;
  }

  /** The API server's URL (the in-cluster kubeconfig's current cluster), "" when there is none. */
  apiServerUrl(): string {
    return this.kc.getCurrentCluster()?.server ?? "";
  }

  /**
   * How the Proxy RPC reaches the API server: same server and CA, but as the
   * proxy ServiceAccount (its token renewed before it expires), never with the
   * pod's own credentials.
   */
  async apiServerRef(): Promise<ApiServerRef> {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new KubeUnavailableError("the kubeconfig has no current cluster");
    const tokens = await this.proxyTokens();
    const ref: ApiServerRef = { server: cluster.server, tokenProvider: () => tokens.current() };
    if (cluster.caData) ref.ca = Buffer.from(cluster.caData, "base64");
    else if (cluster.caFile) ref.ca = await readFile(cluster.caFile);
    if (cluster.skipTLSVerify) ref.insecureSkipTlsVerify = true;
    return ref;
  }

  /** Clients that speak as the proxy account with its current token. */
  private async asProxy(): Promise<{ core: CoreV1Api; version: VersionApi; authz: AuthorizationV1Api }> {
    const token = (await this.proxyTokens()).current();
    if (this.proxyApis?.token !== token) {
      const cluster = this.kc.getCurrentCluster();
      if (!cluster) throw new KubeUnavailableError("the kubeconfig has no current cluster");
      const kc = new KubeConfig();
      kc.loadFromOptions({ clusters: [cluster], users: [{ name: "proxy", token }], contexts: [{ name: "proxy", cluster: cluster.name, user: "proxy" }], currentContext: "proxy" });
      this.proxyApis = { token, core: kc.makeApiClient(CoreV1Api), version: kc.makeApiClient(VersionApi), authz: kc.makeApiClient(AuthorizationV1Api) };
    }
    return this.proxyApis;
  }

  /** The cheap API call behind GetStatus: /version and a node list, with the rights proxied calls have (the proxy account's). */
  async clusterFacts(): Promise<ClusterFacts> {
    const { core, version } = await this.asProxy();
    const v = await withTimeout(version.getCode(), this.timeoutMs, "GET /version");
    const nodes = await withTimeout(core.listNode(), this.timeoutMs, "list nodes");
    return { kubernetesVersion: v.gitVersion, nodeCount: nodes.items.length, nodesReady: nodes.items.filter(isReady).length };
  }

  /** The proxy account's effective rules (GetStatus reports them; the hub compares them with the named scopes). */
  async proxyRules(): Promise<ProxyRules> {
    return reviewProxyRules((await this.asProxy()).authz, this.namespace, this.timeoutMs);
  }
}

export interface ProxyRules {
  rules: Array<{ verbs: string[]; apiGroups: string[]; resources: string[]; resourceNames: string[] }>;
  incomplete: boolean;
}

/**
 * What the proxy account may do, as the API server says: a
 * SelfSubjectRulesReview (every signed-in account may create one) for the
 * edge's namespace, which lists cluster-wide rules too. Resource rules only.
 */
export async function reviewProxyRules(authz: AuthorizationV1Api, namespace: string, timeoutMs: number): Promise<ProxyRules> {
  const r = await withTimeout(authz.createSelfSubjectRulesReview({ body: { apiVersion: "authorization.k8s.io/v1", kind: "SelfSubjectRulesReview", spec: { namespace } } }), timeoutMs, "create selfsubjectrulesreview");
  const rules = (r.status?.resourceRules ?? []).map((x) => ({ verbs: x.verbs ?? [], apiGroups: x.apiGroups ?? [], resources: x.resources ?? [], resourceNames: x.resourceNames ?? [] }));
  return { rules, incomplete: r.status?.incomplete ?? false };
}

function isReady(n: V1Node): boolean {
  return (n.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
}
