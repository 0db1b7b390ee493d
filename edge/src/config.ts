import { EnvReader, parseDuration, readTelemetry, type TelemetryConfig } from "@daalu/runtime";
import type { HttpTarget } from "./proxy/policy.js";
import { parseHttpTargets } from "./proxy/targets.js";
import { EDGE_VERSION } from "./version.js";

/**
 * The only reader of process.env for the edge agent. Every problem is reported
 * at once, before anything connects. Variables are EDGE_* (plus LOG_LEVEL);
 * the chart sets them (deploy/daalu-edge/templates/).
 */

export const DEFAULT_SECRET_NAME = "daalu-edge-tunnel";
/** The ConfigMap with the tunnel's public configuration (no key, no token), written beside the Secret. */
export const DEFAULT_PUBLIC_CONFIGMAP_NAME = "daalu-edge-tunnel-public";
/** The ServiceAccount proxied calls run as (the chart's `<release>-proxy`: read-only, no Secrets). */
export const DEFAULT_PROXY_SERVICE_ACCOUNT = "daalu-edge-proxy";
export const DEFAULT_BOOTSTRAP_ATTEMPTS = 8;
export const DEFAULT_BOOTSTRAP_BACKOFF_MS = 500;
export const DEFAULT_BOOTSTRAP_BACKOFF_MAX_MS = 15_000;
export const DEFAULT_HUB_TIMEOUT_MS = 10_000;
export const DEFAULT_WG_INTERFACE = "dle0";
export const DEFAULT_GRPC_PORT = 7443;
export const DEFAULT_PROBE_ADDR = "0.0.0.0:8081";
export const DEFAULT_READY_MAX_HANDSHAKE_AGE_MS = 180_000;
export const DEFAULT_READY_GRACE_MS = 30_000;
export const DEFAULT_RETRY_BASE_MS = 250;
export const DEFAULT_RETRY_MAX_MS = 10_000;
export const DEFAULT_KUBE_TIMEOUT_MS = 5_000;
export const DEFAULT_HANDSHAKE_POLL_MS = 1_000;
export const DEFAULT_DRAIN_TIMEOUT_MS = 5_000;
/**
 * A quiet hub is nudged every 2 s (a TCP SYN through the tunnel, answered at
 * once by a live hub); 6 s without a single byte back (three nudges) means the
 * hub lost our session (restarted): reset it. Recovery after a hub restart is
 * then ≤ ~7 s with these defaults (domain/hub-silence.ts).
 */
export const DEFAULT_HUB_NUDGE_MS = 2_000;
export const DEFAULT_HUB_SILENCE_MS = 6_000;
/** The hub node's EdgeLifecycleService port (its PEERING_WG_GOODBYE_PORT). */
export const DEFAULT_HUB_GOODBYE_PORT = 7444;
/** How long SIGTERM waits for the hub to acknowledge the goodbye before the tunnel is removed anyway. */
export const DEFAULT_GOODBYE_TIMEOUT_MS = 2_000;

/** Settings both modes share. */
export interface KubeConfigRef {
  /** Path of a kubeconfig file; undefined = in-cluster ServiceAccount config. */
  kubeconfig: string | undefined;
  /** Namespace of the Secret; undefined = the pod's own (ServiceAccount namespace file). */
  namespace: string | undefined;
  secretName: string;
  /** The ConfigMap the bootstrap Job writes the public tunnel configuration to (default DEFAULT_PUBLIC_CONFIGMAP_NAME). */
  publicConfigMapName?: string;
  /** ServiceAccount whose tokens (TokenRequest) proxied calls and the status probe use; never the pod's own. */
  proxyServiceAccount: string;
  /** Per-call timeout for Kubernetes API requests. */
  timeoutMs: number;
}

interface CommonEdgeConfig {
  logLevel: string;
  kube: KubeConfigRef;
  drainTimeoutMs: number;
  /** Trace export (the standard OTEL_* variables), as every hub service reads it. */
  telemetry: TelemetryConfig;
}

export interface BootstrapConfig extends CommonEdgeConfig {
  mode: "bootstrap";
  hubUrl: string;
  /** The single-use invite token. Never logged. */
  token: string;
  /** PEM bundle to trust for the hub's certificate, beside the system CAs. */
  hubCaFile: string | undefined;
  attempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  hubTimeoutMs: number;
  /** ServiceAccount that owns the Secret, so `helm uninstall` garbage-collects the private key. */
  ownerServiceAccount: string | undefined;
  /** The chart's keepalive override (EDGE_KEEPALIVE), shown in the public ConfigMap as the agent applies it. */
  keepaliveSeconds: number | undefined;
}

export interface RunConfig extends CommonEdgeConfig {
  mode: "run";
  /**
   * The version the agent reports (GetStatus, goodbye): the build's
   * (edge/package.json) unless EDGE_VERSION_OVERRIDE is set. The override exists
   * for tests of the hub's update checks, which run one build as several
   * releases; the chart never sets it.
   */
  version: string;
  wgInterface: string;
  wgBackend: "auto" | "kernel" | "wireguard-go";
  /** Overrides the hub's keepalive when set (the chart's wg.keepalive). */
  keepaliveSeconds: number | undefined;
  grpcPort: number;
  probeHost: string;
  probePort: number;
  readyMaxHandshakeAgeMs: number;
  readyGraceMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  handshakePollMs: number;
  /** Reset the WireGuard session when nothing arrived from the hub for this long (0 = never). */
  hubSilenceMs: number;
  /** Knock on the hub's tunnel address when it has been quiet this long (0 = never). */
  hubNudgeMs: number;
  /** On SIGTERM, tell the hub node on this port that the edge is leaving (0 = never). */
  hubGoodbyePort: number;
  goodbyeTimeoutMs: number;
  /** In-cluster HTTP targets the hub may query through the tunnel (EDGE_HTTP_TARGETS), by name. */
  httpTargets: Record<string, HttpTarget>;
}

export type EdgeConfig = BootstrapConfig | RunConfig;

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

/** True for hosts that never leave the machine, where plain http carries no risk. */
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

function splitHostPort(r: EnvReader, name: string, v: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:]+\]|[^:]+):(\d{1,5})$/.exec(v);
  if (!m || Number(m[2]) > 65_535) {
    r.check(false, `${name} must be host:port, got "${v}"`);
    return { host: "0.0.0.0", port: 0 };
  }
  return { host: m[1]!.replace(/^\[(.*)\]$/, "$1"), port: Number(m[2]) };
}

const K8S_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** EDGE_KEEPALIVE: plain seconds (the chart's wg.keepalive: 25) or a duration ("25s"); undefined when unset. */
function readKeepalive(r: EnvReader): number | undefined {
  const ka = r.optional("EDGE_KEEPALIVE");
  if (ka === undefined) return undefined;
  const ms = /^\d+$/.test(ka) ? Number(ka) * 1000 : parseDuration(ka);
  if (ms === undefined || ms % 1000 !== 0 || ms / 1000 > 65_535) {
    r.check(false, `EDGE_KEEPALIVE must be whole seconds 0..65535 (e.g. 25 or 25s), got "${ka}"`);
    return undefined;
  }
  return ms / 1000;
}

export function loadConfig(mode: string | undefined, env: Record<string, string | undefined>): EdgeConfig {
  const r = new EnvReader(env);
  r.check(mode === "bootstrap" || mode === "run", `the mode must be "bootstrap" or "run", got "${mode ?? ""}" (usage: edge bootstrap|run)`);
  const secretName = r.str("EDGE_SECRET_NAME", DEFAULT_SECRET_NAME);
  r.check(K8S_NAME.test(secretName), `EDGE_SECRET_NAME must be a Kubernetes object name, got "${secretName}"`);
  const publicConfigMapName = r.str("EDGE_PUBLIC_CONFIGMAP_NAME", DEFAULT_PUBLIC_CONFIGMAP_NAME);
  r.check(K8S_NAME.test(publicConfigMapName), `EDGE_PUBLIC_CONFIGMAP_NAME must be a Kubernetes object name, got "${publicConfigMapName}"`);
  const proxyServiceAccount = r.str("EDGE_PROXY_SERVICE_ACCOUNT", DEFAULT_PROXY_SERVICE_ACCOUNT);
  r.check(K8S_NAME.test(proxyServiceAccount), `EDGE_PROXY_SERVICE_ACCOUNT must be a Kubernetes object name, got "${proxyServiceAccount}"`);
  const kubeconfig = r.optional("EDGE_KUBECONFIG");
  // client-node's in-cluster config needs the Service env Kubernetes injects into every pod.
  r.check(kubeconfig !== undefined || r.optional("KUBERNETES_SERVICE_HOST") !== undefined, "not running in a Kubernetes pod (no KUBERNETES_SERVICE_HOST): set EDGE_KUBECONFIG to a kubeconfig file");
  const common: CommonEdgeConfig = {
    logLevel: r.oneOf("LOG_LEVEL", ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const, "info"),
    kube: {
      kubeconfig,
      namespace: r.optional("EDGE_NAMESPACE"),
      secretName,
      publicConfigMapName,
      proxyServiceAccount,
      timeoutMs: r.duration("EDGE_KUBE_TIMEOUT", DEFAULT_KUBE_TIMEOUT_MS),
    },
    drainTimeoutMs: r.duration("EDGE_DRAIN_TIMEOUT", DEFAULT_DRAIN_TIMEOUT_MS),
    telemetry: readTelemetry(r),
  };

  if (mode === "bootstrap") {
    const hubUrl = r.url("EDGE_HUB_URL");
    const token = r.str("EDGE_BOOTSTRAP_TOKEN");
    const allowHttp = r.bool("EDGE_ALLOW_INSECURE_HTTP", false);
    if (hubUrl) {
      try {
        const u = new URL(hubUrl);
        r.check(u.protocol === "https:" || u.protocol === "http:", `EDGE_HUB_URL must be an https:// URL, got "${u.protocol}"`);
        r.check(
          u.protocol !== "http:" || allowHttp || isLoopbackHost(u.hostname),
          `EDGE_HUB_URL is plain http to ${u.hostname}: the token would travel unencrypted. Use https, or set EDGE_ALLOW_INSECURE_HTTP=true for a test hub`,
        );
      } catch {
        // already reported by r.url
      }
    }
    const cfg: BootstrapConfig = {
      ...common,
      mode,
      hubUrl: hubUrl.replace(/\/+$/, ""),
      token,
      hubCaFile: r.optional("EDGE_HUB_CA_FILE"),
      attempts: r.int("EDGE_BOOTSTRAP_ATTEMPTS", DEFAULT_BOOTSTRAP_ATTEMPTS, 1, 100),
      backoffBaseMs: r.duration("EDGE_BOOTSTRAP_BACKOFF", DEFAULT_BOOTSTRAP_BACKOFF_MS),
      backoffMaxMs: r.duration("EDGE_BOOTSTRAP_BACKOFF_MAX", DEFAULT_BOOTSTRAP_BACKOFF_MAX_MS),
      hubTimeoutMs: r.duration("EDGE_HUB_TIMEOUT", DEFAULT_HUB_TIMEOUT_MS),
      ownerServiceAccount: r.optional("EDGE_SERVICE_ACCOUNT"),
      keepaliveSeconds: readKeepalive(r),
    };
    r.check(cfg.backoffBaseMs <= cfg.backoffMaxMs, "EDGE_BOOTSTRAP_BACKOFF must not exceed EDGE_BOOTSTRAP_BACKOFF_MAX");
    r.done();
    return cfg;
  }

  const wgInterface = r.str("EDGE_WG_INTERFACE", DEFAULT_WG_INTERFACE);
  r.check(/^[A-Za-z0-9_.-]{1,15}$/.test(wgInterface), `EDGE_WG_INTERFACE must be a Linux interface name (1-15 of A-Za-z0-9_.-), got "${wgInterface}"`);
  const keepaliveSeconds = readKeepalive(r);
  const probe = splitHostPort(r, "EDGE_PROBE_ADDR", r.str("EDGE_PROBE_ADDR", DEFAULT_PROBE_ADDR));
  const cfg: RunConfig = {
    ...common,
    mode: "run",
    version: r.str("EDGE_VERSION_OVERRIDE", EDGE_VERSION),
    wgInterface,
    wgBackend: r.oneOf("EDGE_WG_BACKEND", ["auto", "kernel", "wireguard-go"] as const, "auto"),
    keepaliveSeconds,
    grpcPort: r.int("EDGE_GRPC_PORT", DEFAULT_GRPC_PORT, 1, 65_535),
    probeHost: probe.host,
    probePort: probe.port,
    readyMaxHandshakeAgeMs: r.duration("EDGE_READY_MAX_HANDSHAKE_AGE", DEFAULT_READY_MAX_HANDSHAKE_AGE_MS),
    readyGraceMs: r.duration("EDGE_READY_GRACE", DEFAULT_READY_GRACE_MS),
    retryBaseMs: r.duration("EDGE_RETRY_BACKOFF", DEFAULT_RETRY_BASE_MS),
    retryMaxMs: r.duration("EDGE_RETRY_BACKOFF_MAX", DEFAULT_RETRY_MAX_MS),
    handshakePollMs: r.duration("EDGE_HANDSHAKE_POLL", DEFAULT_HANDSHAKE_POLL_MS),
    hubSilenceMs: r.duration("EDGE_HUB_SILENCE", DEFAULT_HUB_SILENCE_MS),
    hubNudgeMs: r.duration("EDGE_HUB_NUDGE", DEFAULT_HUB_NUDGE_MS),
    hubGoodbyePort: r.int("EDGE_HUB_GOODBYE_PORT", DEFAULT_HUB_GOODBYE_PORT, 0, 65_535),
    goodbyeTimeoutMs: r.duration("EDGE_GOODBYE_TIMEOUT", DEFAULT_GOODBYE_TIMEOUT_MS),
    // e.g. "prometheus=prometheus-server.monitoring.svc:9090,loki=loki.monitoring.svc:3100"
    httpTargets: parseHttpTargets(r.optional("EDGE_HTTP_TARGETS"), r.problems),
  };
  r.check(
    cfg.hubSilenceMs === 0 || cfg.hubNudgeMs === 0 || cfg.hubSilenceMs >= 2 * cfg.hubNudgeMs,
    "EDGE_HUB_SILENCE must be at least twice EDGE_HUB_NUDGE (or either 0): a healthy hub answers each nudge, and one lost answer must not reset the session",
  );
  r.check(cfg.retryBaseMs <= cfg.retryMaxMs, "EDGE_RETRY_BACKOFF must not exceed EDGE_RETRY_BACKOFF_MAX");
  r.done();
  return cfg;
}
