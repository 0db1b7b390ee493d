import { readFile } from "node:fs/promises";
import { Code, type Logger } from "@daalu/runtime";
import { fingerprint, generateKeyPair } from "@daalu/wireguard";
import type { BootstrapConfig } from "./config.js";
import { backoffDelay } from "./domain/backoff.js";
import { classifyHubResponse } from "./domain/hub-response.js";
import { publicTunnelConfig } from "./domain/public-config.js";
import type { EdgeKeys, TunnelConfig, TunnelSecret } from "./domain/tunnel-config.js";
import { isTlsTrustError, postBootstrap, type HubAnswer } from "./adapters/hub-client.js";
import { BadHubAnswerError, BootstrapRejectedError, EdgeError, ExitCode, HubUnreachableError, HubUntrustedError } from "./errors.js";

/** What bootstrap needs from Kubernetes (KubeAccess implements it). */
export interface SecretStore {
  readonly namespace: string;
  readonly secretName: string;
  readonly publicConfigMapName: string;
  readTunnelSecret(): Promise<TunnelSecret | undefined>;
  createTunnelSecret(s: TunnelSecret, owner?: { name: string; uid: string }): Promise<boolean>;
  updateTunnelSecret(s: TunnelSecret): Promise<void>;
  serviceAccountUid(name: string): Promise<string | undefined>;
  writePublicConfig(data: Record<string, string>, owner?: { name: string; uid: string }): Promise<"created" | "updated" | "unchanged">;
}

export interface BootstrapDeps {
  store: SecretStore;
  /** One POST /v1/bootstrap; defaults to the HTTPS client. */
  post?: (payload: { token: string; publicKey: string }) => Promise<HubAnswer>;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export type BootstrapResult = { outcome: "bootstrapped"; config: TunnelConfig } | { outcome: "already-bootstrapped"; config: TunnelConfig };

/**
 * The bootstrap Job. Order matters for the token, which is single-use:
 *   1. a complete Secret already exists → nothing is redeemed;
 *   2. the key pair is generated here and stored in a *pending* Secret BEFORE
 *      the token is sent — this proves the Secret RBAC works (a missing Role
 *      fails the Job without burning the token), and a Job pod restarted after
 *      a lost response retries with the same key, which the hub replays;
 *   3. {token, publicKey} goes to the hub, with bounded retries for transient
 *      failures only;
 *   4. the Secret is completed with the tunnel configuration;
 *   5. the public half (hub endpoint and key, our address and public key,
 *      keepalive, allowed IPs) goes to a ConfigMap beside the Secret. A
 *      re-run with a complete Secret redeems nothing but still (re)writes it,
 *      so a Job retried after a failed ConfigMap write completes the install.
 * Only the public key leaves the cluster.
 */
export async function bootstrap(cfg: BootstrapConfig, logger: Logger, deps: BootstrapDeps): Promise<BootstrapResult> {
  const { store } = deps;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const where = { namespace: store.namespace, secret: store.secretName };

  // The agent's ServiceAccount owns the Secret and the ConfigMap, so `helm uninstall` removes both. Looked up once.
  let ownerLookup: Promise<{ name: string; uid: string } | undefined> | undefined;
  const ownerRef = () =>
    (ownerLookup ??= (async () => {
      const name = cfg.ownerServiceAccount;
      const uid = name ? await store.serviceAccountUid(name) : undefined;
      if (name && !uid) logger.warn({ serviceAccount: name }, "cannot read the owning ServiceAccount; the Secret and ConfigMap will outlive helm uninstall");
      return name && uid ? { name, uid } : undefined;
    })());
  const done = async (outcome: BootstrapResult["outcome"], s: { config: TunnelConfig; publicKey: string }): Promise<BootstrapResult> => {
    const written = await store.writePublicConfig(publicTunnelConfig(s.config, s.publicKey, cfg.keepaliveSeconds), await ownerRef());
    logger.info({ namespace: store.namespace, configMap: store.publicConfigMapName, written }, "public tunnel configuration in its ConfigMap (no key, no token)");
    return { outcome, config: s.config };
  };

  let existing = await store.readTunnelSecret();
  if (existing?.state === "complete") {
    logger.info({ ...where, clusterId: existing.config.clusterId, tunnelIp: existing.config.tunnelIp }, "tunnel Secret already exists: already bootstrapped, no token redeemed");
    return done("already-bootstrapped", existing);
  }
  let keys: EdgeKeys;
  if (existing) {
    keys = { privateKey: existing.privateKey, publicKey: existing.publicKey };
    logger.info({ ...where, key: fingerprint(keys.publicKey) }, "resuming an unfinished bootstrap with its stored key");
  } else {
    const fresh = generateKeyPair();
    if (await store.createTunnelSecret({ state: "pending", ...fresh }, await ownerRef())) {
      keys = fresh;
    } else {
      // Another bootstrap pod created it between our read and create: use its state.
      existing = await store.readTunnelSecret();
      if (!existing) throw new EdgeError(Code.Internal, `${where.namespace}/${where.secret} vanished during bootstrap`, ExitCode.Internal);
      if (existing.state === "complete") return done("already-bootstrapped", existing);
      keys = { privateKey: existing.privateKey, publicKey: existing.publicKey };
    }
    logger.info({ ...where, key: fingerprint(keys.publicKey) }, "generated the WireGuard key pair; private key stored in the Secret only");
  }

  const caPem = cfg.hubCaFile ? await readFile(cfg.hubCaFile, "utf8") : undefined;
  const post = deps.post ?? ((payload) => postBootstrap(cfg.hubUrl, payload, { ...(caPem ? { caPem } : {}), timeoutMs: cfg.hubTimeoutMs }));
  const config = await redeem(cfg, logger, keys.publicKey, post, sleep, deps.random);

  await store.updateTunnelSecret({ state: "complete", ...keys, config });
  logger.info(
    { ...where, tenantId: config.tenantId, clusterId: config.clusterId, cluster: config.clusterName, tunnelIp: config.tunnelIp, hubEndpoint: config.hubEndpoint },
    "bootstrapped: tunnel configuration stored",
  );
  return done("bootstrapped", { config, publicKey: keys.publicKey });
}

async function redeem(
  cfg: BootstrapConfig,
  logger: Logger,
  publicKey: string,
  post: NonNullable<BootstrapDeps["post"]>,
  sleep: (ms: number) => Promise<void>,
  random: (() => number) | undefined,
): Promise<TunnelConfig> {
  let last = "";
  for (let attempt = 0; attempt < cfg.attempts; attempt++) {
    if (attempt > 0) {
      const delay = backoffDelay(attempt - 1, { baseMs: cfg.backoffBaseMs, maxMs: cfg.backoffMaxMs }, random);
      logger.warn({ attempt, of: cfg.attempts, retryInMs: delay, error: last }, "hub not reachable yet; retrying");
      await sleep(delay);
    }
    let answer: HubAnswer;
    try {
      // The same key on every attempt: if an earlier answer was lost after the
      // hub burned the token, the hub replays the same configuration.
      answer = await post({ token: cfg.token, publicKey });
    } catch (err) {
      if (isTlsTrustError(err)) {
        throw new HubUntrustedError(
          `the hub's TLS certificate at ${cfg.hubUrl} is not trusted (${(err as Error).message}); set hub.caBundle (EDGE_HUB_CA_FILE) to the hub's CA`,
          err,
        );
      }
      last = (err as Error).message || String(err);
      continue;
    }
    const outcome = classifyHubResponse(answer.status, answer.body);
    switch (outcome.kind) {
      case "ok":
        return outcome.config;
      case "rejected":
        throw new BootstrapRejectedError(outcome.status, outcome.reason, `the hub refused the bootstrap token (${outcome.reason}): ${outcome.message}`);
      case "bad-answer":
        throw new BadHubAnswerError(outcome.message);
      case "retry":
        last = outcome.why;
    }
  }
  throw new HubUnreachableError(`the hub at ${cfg.hubUrl} stayed unreachable after ${cfg.attempts} attempts; last error: ${last}`);
}
