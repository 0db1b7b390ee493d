import type { Logger } from "@daalu/runtime";
import { fingerprint, openDevice as openWgDevice, type OpenDeviceOptions, type PeerConfig, type WgDevice } from "@daalu/wireguard";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { isIP } from "node:net";
import type { RunConfig } from "./config.js";
import { backoffDelay } from "./domain/backoff.js";
import { acceptedMove, configuredEndpoints, learnedEndpoints, nextEndpoint } from "./domain/hub-endpoints.js";
import { shouldNudge, shouldResetSession } from "./domain/hub-silence.js";
import { readiness, type Readiness } from "./domain/readiness.js";
import { hubAllowedIps, hubRoute, interfaceAddress, splitEndpoint, type TunnelConfig, type TunnelSecret } from "./domain/tunnel-config.js";
import { describeKubeError, type ClusterFacts, type ProxyRules } from "./adapters/kube.js";
import type { ApiServerRef } from "./proxy/index.js";
import { startStatusServer, type StatusServer } from "./adapters/grpc.js";
import { sayGoodbye } from "./adapters/goodbye.js";
import { nudgeHub } from "./adapters/nudge.js";
import { replaceRoute } from "./adapters/route.js";
import { expandEndpoints } from "./adapters/resolve-endpoints.js";

/** What `run` needs from Kubernetes (KubeAccess implements it). */
export interface AgentKube {
  readonly namespace: string;
  readonly secretName: string;
  readTunnelSecret(): Promise<TunnelSecret | undefined>;
  clusterFacts(): Promise<ClusterFacts>;
  /** The proxy account's rules (SelfSubjectRulesReview); omitted → GetStatus reports none. */
  proxyRules?(): Promise<ProxyRules>;
  /** For the Proxy RPC, as the proxy ServiceAccount (never the pod's own); omitted → Proxy answers UNIMPLEMENTED. */
  apiServerRef?(): Promise<ApiServerRef>;
  /** The API server's URL as the kubeconfig names it (GetStatus reports it). */
  apiServerUrl?(): string;
}

export interface AgentDeps {
  kube: AgentKube;
  openDevice?: (name: string, opts: OpenDeviceOptions) => Promise<WgDevice>;
  now?: () => number;
  /** Knocks on the hub's tunnel address (default: a TCP SYN, adapters/nudge.ts). */
  nudge?: (hubTunnelIp: string, tunnelIp: string, timeoutMs: number) => Promise<void>;
  /** Tells the hub the edge is leaving (default: EdgeLifecycleService.Goodbye through the tunnel, adapters/goodbye.ts). */
  goodbye?: typeof sayGoodbye;
  /** Host names → one endpoint per address (default: DNS, adapters/resolve-endpoints.ts). */
  resolveEndpoints?: (list: readonly string[]) => Promise<string[]>;
  /** Routes the hub's address into the interface (default: `ip route replace`, adapters/route.ts). */
  replaceRoute?: typeof replaceRoute;
}

/** Re-resolve a host-name endpoint this often while the hub is silent (its address may have moved). */
const RERESOLVE_AFTER_MS = 60_000;

/** A move the hub asked for waits this long, so the answer confirming it leaves through the old node first. */
const MOVE_AFTER_ANSWER_MS = 150;

class Stopped extends Error {}

/**
 * The `run` mode: keeps the tunnel up and serves EdgeService on it.
 *
 * A supervisor loop reads the Secret, opens the device (taking over or
 * recreating an interface left by a previous container), configures the hub as
 * the only peer, then watches the hub's handshakes. Any failure — Secret not
 * written yet, wireguard-go gone, interface deleted — tears the device view
 * down and starts over after a capped, jittered backoff, forever.
 */
export class EdgeAgent {
  private readonly startedAtMs: number;
  private readonly now: () => number;
  private readonly openDevice: NonNullable<AgentDeps["openDevice"]>;
  private device: WgDevice | undefined;
  private config: TunnelConfig | undefined;
  private deviceUpSinceMs: number | undefined;
  private lastHandshakeMs = 0;
  private rxBytes = -1;
  private lastRxChangeMs = 0;
  /** Every hub node's endpoint, in order: from the Secret, then as the hub's probes say (in memory). */
  private endpoints: string[] = [];
  /** The endpoint the hub peer is configured with now (moves round-robin on hub silence). */
  private endpoint: string | undefined;
  /** Where the hub's packets come from now, as the device reports it (the resolved address of a name). */
  private peerEndpoint: string | undefined;
  /** A move the hub asked for (rebalancing), applied by the watch loop once the answer is out. */
  private pendingMove: { endpoint: string; atMs: number } | undefined;
  /** Ends the watch loop's current wait early (a move to apply). */
  private poke: (() => void) | undefined;
  private grpc: StatusServer | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private firstUp: { promise: Promise<void>; resolve: () => void };

  constructor(
    private readonly cfg: RunConfig,
    private readonly logger: Logger,
    private readonly deps: AgentDeps,
  ) {
    this.now = deps.now ?? Date.now;
    this.startedAtMs = this.now();
    this.openDevice = deps.openDevice ?? openWgDevice;
    let resolve!: () => void;
    this.firstUp = { promise: new Promise<void>((r) => (resolve = r)), resolve };
  }

  /** Starts the supervisor; resolves immediately. */
  start(): void {
    this.loop ??= this.supervise();
  }

  /** Resolves once the tunnel is configured and EdgeService is serving. */
  whenUp(): Promise<void> {
    return this.firstUp.promise;
  }

  readiness(): Readiness {
    return readiness({
      nowMs: this.now(),
      deviceUpSinceMs: this.deviceUpSinceMs,
      lastHandshakeMs: this.lastHandshakeMs,
      maxAgeMs: this.cfg.readyMaxHandshakeAgeMs,
      graceMs: this.cfg.readyGraceMs,
    });
  }

  /** The gRPC port EdgeService listens on (useful when EDGE_GRPC_PORT is 0 in tests). */
  get grpcPort(): number | undefined {
    return this.grpc?.port;
  }

  /** GetStatus: a fresh, cheap API server probe plus the tunnel's own view. */
  async status() {
    await this.refreshHandshake().catch(() => undefined);
    let facts: ClusterFacts | undefined;
    let apiError = "";
    const rules = this.effectiveRules();
    try {
      facts = await this.deps.kube.clusterFacts();
    } catch (err) {
      apiError = describeKubeError(err);
    }
    const probedAtMs = this.now();
    const ageMs = this.lastHandshakeMs > 0 ? Math.max(0, probedAtMs - this.lastHandshakeMs) : 0;
    const apiServer = this.deps.kube.apiServerUrl?.() ?? "";
    return {
      edgeVersion: this.cfg.version,
      apiReachable: facts !== undefined,
      apiError,
      kubernetesVersion: facts?.kubernetesVersion ?? "",
      nodeCount: facts?.nodeCount ?? 0,
      nodesReady: facts?.nodesReady ?? 0,
      startedAt: timestampFromMs(this.startedAtMs),
      handshakeAgeSeconds: Math.floor(ageMs / 1000),
      apiServer,
      probedAt: timestampFromMs(probedAtMs),
      ...(await rules),
    };
  }

  /** GetStatus's effective_rules* fields: the proxy account's rules, or why they could not be reviewed. */
  private async effectiveRules() {
    if (!this.deps.kube.proxyRules) return {};
    let error = "";
    let review: ProxyRules = { rules: [], incomplete: false };
    try {
      review = await this.deps.kube.proxyRules();
    } catch (err) {
      error = describeKubeError(err);
    }
    const at = this.now();
    return { effectiveRules: review.rules, effectiveRulesIncomplete: review.incomplete, effectiveRulesError: error, effectiveRulesAt: timestampFromMs(at) };
  }

  /**
   * SIGTERM: tell the hub we are leaving (so the row turns red at once, not
   * after the handshake threshold), stop serving, delete the interface (the
   * tunnel dies with the pod).
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop?.catch(() => undefined);
    await this.sayGoodbye();
    await this.grpc?.close(this.cfg.drainTimeoutMs);
    this.grpc = undefined;
    await this.closeDevice();
  }

  /** One goodbye while the tunnel is up; a hub that does not answer in time only costs the timeout. */
  private async sayGoodbye(): Promise<void> {
    const c = this.config;
    if (!c || !this.device || this.cfg.hubGoodbyePort === 0 || this.lastHandshakeMs === 0) return;
    const started = this.now();
    try {
      const clusterId = await (this.deps.goodbye ?? sayGoodbye)(c.hubTunnelIp, this.cfg.hubGoodbyePort, this.cfg.goodbyeTimeoutMs, this.cfg.version);
      this.logger.info({ clusterId, tookMs: this.now() - started }, "told the hub that the edge is stopping");
    } catch (err) {
      this.logger.warn({ err: err instanceof Error ? err.message : String(err), tookMs: this.now() - started }, "the hub did not take the goodbye; it will notice the silence instead");
    }
  }

  private async closeDevice(): Promise<void> {
    const d = this.device;
    this.device = undefined;
    this.deviceUpSinceMs = undefined;
    if (d) await d.close().catch((err) => this.logger.warn({ err }, "closing the WireGuard device failed"));
  }

  /** Waits `ms`; `poke` ends the wait early, `wake` (stop) rejects it. */
  private sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.reject(new Stopped());
    return new Promise<void>((resolve, reject) => {
      const done = (stopped: boolean) => {
        clearTimeout(t);
        this.wake = this.poke = undefined;
        if (stopped) reject(new Stopped());
        else resolve();
      };
      const t = setTimeout(() => done(false), ms);
      this.poke = () => done(false);
      this.wake = () => done(true);
    });
  }

  private async supervise(): Promise<void> {
    let failures = 0;
    let lastProblem = "";
    while (!this.stopping) {
      try {
        await this.bringUp();
        failures = 0;
        lastProblem = "";
        await this.watch();
      } catch (err) {
        if (err instanceof Stopped || this.stopping) return;
        const problem = err instanceof Error ? err.message : String(err);
        const delay = backoffDelay(failures++, { baseMs: this.cfg.retryBaseMs, maxMs: this.cfg.retryMaxMs });
        // The same problem repeating (Secret not written yet) is logged at debug after the first time.
        const level = problem === lastProblem ? "debug" : "warn";
        this.logger[level]({ problem, retryInMs: delay, failures }, "tunnel not up; retrying");
        lastProblem = problem;
        this.deviceUpSinceMs = undefined;
        // Drop our handle but leave the interface: the next attempt takes it over (or recreates it).
        this.device = undefined;
        await this.sleep(delay).catch(() => undefined); // rejects only when stopping, which ends the loop
      }
    }
  }

  /** Dropping the hub peer drops its session; re-adding it (at the current endpoint) makes the next keepalive handshake. */
  private async restartHubSession(c: TunnelConfig): Promise<void> {
    await this.device!.removePeer(c.hubPublicKey);
    await this.device!.setPeer(this.hubPeer(c));
  }

  private hubPeer(c: TunnelConfig): PeerConfig {
    return {
      publicKey: c.hubPublicKey,
      endpoint: this.endpoint ?? c.hubEndpoint,
      allowedIps: hubAllowedIps(c),
      persistentKeepaliveSeconds: this.cfg.keepaliveSeconds ?? c.keepaliveSeconds,
    };
  }

  private async bringUp(): Promise<void> {
    const secret = await this.deps.kube.readTunnelSecret();
    if (!secret) throw new Error(`secret ${this.deps.kube.namespace}/${this.deps.kube.secretName} does not exist yet (the bootstrap Job writes it)`);
    if (secret.state !== "complete") throw new Error(`secret ${this.deps.kube.namespace}/${this.deps.kube.secretName} is still pending (the bootstrap Job has not finished)`);
    const c = secret.config;
    if (this.endpoints.length === 0) this.endpoints = configuredEndpoints(c);
    this.endpoint ??= c.hubEndpoint;
    const device = await this.openDevice(this.cfg.wgInterface, { backend: this.cfg.wgBackend, logger: this.logger });
    this.device = device;
    // Link up first: WireGuard sends the first keepalive (and so starts the
    // handshake) the moment a peer with persistent keepalive is added to an UP
    // interface; configured on a down link it would wait a whole interval.
    await device.addAddress(interfaceAddress(c));
    await (this.deps.replaceRoute ?? replaceRoute)(hubRoute(c), device.name);
    // replacePeers: a taken-over interface may carry a stale hub peer (old key
    // or endpoint); re-creating the peer also restarts its session at once.
    await device.configure({ privateKey: secret.privateKey, peers: [this.hubPeer(c)], replacePeers: true });
    this.config = c;
    this.deviceUpSinceMs = this.now();
    await this.refreshHandshake();
    this.logger.info(
      { iface: device.name, backend: device.backend, address: interfaceAddress(c), hubEndpoint: this.endpoint, hubEndpoints: this.endpoints, hub: fingerprint(c.hubPublicKey), key: fingerprint(secret.publicKey) },
      "tunnel configured",
    );
    if (!this.grpc) {
      this.grpc = await startStatusServer({
        host: c.tunnelIp,
        port: this.cfg.grpcPort,
        hubTunnelIp: c.hubTunnelIp,
        impl: {
          getStatus: async (req) => {
            this.learnEndpoints(req.hubEndpoints);
            return { ...(await this.status()), movingToEndpoint: this.acceptMove(req.hubEndpoints, req.moveToEndpoint) };
          },
        },
        ...(this.deps.kube.apiServerRef ? { proxy: { apiServer: await this.deps.kube.apiServerRef(), targets: this.cfg.httpTargets, ownNamespace: this.deps.kube.namespace, logger: this.logger.child({ component: "proxy" }) } } : {}),
        logger: this.logger.child({ component: "grpc" }),
      });
      this.logger.info({ address: `${c.tunnelIp}:${this.grpc.port}`, allowedPeer: c.hubTunnelIp }, "EdgeService serving on the tunnel address");
      this.firstUp.resolve();
    }
  }

  private async refreshHandshake(): Promise<void> {
    const d = this.device;
    const c = this.config;
    if (!d || !c) return;
    const hub = (await d.peers()).find((p) => p.publicKey === c.hubPublicKey);
    if (!hub) throw new Error("the hub peer is missing from the interface");
    this.lastHandshakeMs = hub.lastHandshakeMs;
    this.peerEndpoint = hub.endpoint;
    if (hub.rxBytes !== this.rxBytes) {
      this.rxBytes = hub.rxBytes;
      this.lastRxChangeMs = this.now();
    }
  }

  /** Polls the hub's handshake; throws (→ re-open) when the device is gone. */
  private async watch(): Promise<void> {
    let lastResolveMs = this.now();
    let lastResetMs = this.now();
    let lastNudgeMs = 0;
    let nudging: Promise<void> | undefined;
    const nudge = this.deps.nudge ?? nudgeHub;
    this.lastRxChangeMs = this.now();
    let wasFresh = false;
    while (!this.stopping) {
      await this.sleep(this.cfg.handshakePollMs);
      await this.refreshHandshake();
      const r = this.readiness();
      if (r.ready !== wasFresh) {
        this.logger.info({ ready: r.ready, reason: r.reason }, r.ready ? "tunnel handshake with the hub" : "tunnel to the hub is stale");
        wasFresh = r.ready;
      }
      const c = this.config!;
      if (this.pendingMove && this.now() - this.pendingMove.atMs >= MOVE_AFTER_ANSWER_MS) {
        // Rebalancing: the hub confirmed first (its answer went through the old node); now the same peer re-creation
        // as a hub-silence move, so the next keepalive handshakes with the new node at once.
        this.endpoint = this.pendingMove.endpoint;
        this.pendingMove = undefined;
        lastResetMs = this.lastRxChangeMs = this.now();
        this.logger.info({ hubEndpoint: this.endpoint }, "moving to another hub node as the hub asked (rebalancing)");
        await this.restartHubSession(c);
      }
      if (shouldResetSession({ nowMs: this.now(), lastRxChangeMs: this.lastRxChangeMs, lastResetMs, silenceMs: this.cfg.hubSilenceMs })) {
        lastResetMs = this.now();
        await this.moveToNextEndpoint();
        this.logger.warn({ silentForMs: this.now() - this.lastRxChangeMs, hubEndpoint: this.endpoint }, "nothing from the hub; restarting the WireGuard session");
        await this.restartHubSession(c);
      }
      if (!nudging && shouldNudge({ nowMs: this.now(), lastRxChangeMs: this.lastRxChangeMs, lastNudgeMs, nudgeMs: this.cfg.hubNudgeMs })) {
        // Quiet hub: knock, so a live one answers now and a restarted one is found out (hub-silence.ts).
        lastNudgeMs = this.now();
        nudging = nudge(c.hubTunnelIp, c.tunnelIp, Math.min(this.cfg.hubNudgeMs, 1_000)).finally(() => (nudging = undefined));
      }
      const silentMs = this.now() - Math.max(this.lastHandshakeMs, this.deviceUpSinceMs ?? 0);
      const endpoint = this.endpoint ?? c.hubEndpoint;
      if (!isIP(splitEndpoint(endpoint).host) && silentMs > RERESOLVE_AFTER_MS && this.now() - lastResolveMs > RERESOLVE_AFTER_MS) {
        // The driver resolves host names once; a hub that moved is found again here.
        lastResolveMs = this.now();
        await this.device!.setPeer(this.hubPeer(c));
        this.logger.info({ hubEndpoint: endpoint }, "re-resolved the hub endpoint");
      }
    }
  }

  /** GetStatusRequest.move_to_endpoint: the endpoint confirmed in the answer ("" = staying); the watch loop moves shortly after. */
  private acceptMove(sent: readonly string[], target: string): string {
    const endpoint = acceptedMove(sent, target, [this.endpoint, this.peerEndpoint, this.pendingMove?.endpoint]);
    if (!endpoint) return "";
    this.pendingMove = { endpoint, atMs: this.now() };
    setTimeout(() => this.poke?.(), MOVE_AFTER_ANSWER_MS).unref();
    return endpoint;
  }

  /** The hub's probe carries every hub node's endpoint: an installed edge learns new nodes without a new Secret. */
  private learnEndpoints(sent: readonly string[]): void {
    const next = learnedEndpoints(this.endpoints, sent);
    if (next.join(",") === this.endpoints.join(",")) return;
    this.endpoints = next;
    this.logger.info({ hubEndpoints: next }, "learned the hub nodes' endpoints");
  }

  /**
   * Hub silence with several hub nodes: the next endpoint after the one the
   * hub's packets came from (round-robin; a name with several addresses is
   * several endpoints). With one endpoint this is the same one again: a
   * restarted hub is re-handshaken as before.
   */
  private async moveToNextEndpoint(): Promise<void> {
    const resolve = this.deps.resolveEndpoints ?? expandEndpoints;
    const ring = this.endpoints.length > 1 || !isIP(splitEndpoint(this.endpoints[0] ?? "").host) ? await resolve(this.endpoints) : this.endpoints;
    if (ring.length <= 1) return;
    const current = this.peerEndpoint && ring.includes(this.peerEndpoint) ? this.peerEndpoint : (this.endpoint ?? "");
    const next = nextEndpoint(ring, current);
    if (next === this.endpoint) return;
    this.logger.info({ from: current, to: next }, "moving to the next hub node");
    this.endpoint = next;
  }
}
