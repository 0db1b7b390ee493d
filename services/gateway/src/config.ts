import path from "node:path";
import { fileURLToPath } from "node:url";
import { EnvReader, parseHostPort, readCommon, type CommonConfig } from "@daalu/runtime";
import { DEFAULT_DATABASE_URL } from "@daalu/runtime";
import { parseRoleMap, type RoleMap } from "./domain/sign-in.js";

export const DEFAULT_GATEWAY_LISTEN = "0.0.0.0:8080";
export const DEFAULT_GATEWAY_DB_POOL = 10;
/** Requests per second per source IP on the public bootstrap route; 0 disables the limiter. */
export const DEFAULT_GATEWAY_BOOTSTRAP_RATE = 50;
export const DEFAULT_GATEWAY_BOOTSTRAP_BURST = 100;
/** Body limit of the operator API (bytes); bootstrap has its own, tighter one. */
export const DEFAULT_GATEWAY_BODY_LIMIT = 64 * 1024;
export const BOOTSTRAP_BODY_LIMIT = 4 * 1024;
/** How long a verified API token stays cached in memory. */
export const DEFAULT_GATEWAY_AUTH_CACHE_MS = 5_000;
/**
 * One-shot kubectl runs (POST /v1/clusters/{id}/kubectl) at once: per gateway,
 * per tenant (its share: a tenant at its cap leaves the rest to the others) and
 * per cluster.
 */
export const DEFAULT_GATEWAY_KUBECTL_MAX_RUNS = 8;
export const DEFAULT_GATEWAY_KUBECTL_MAX_RUNS_PER_TENANT = 2;
export const DEFAULT_GATEWAY_KUBECTL_MAX_RUNS_PER_CLUSTER = 2;
/**
 * The edge chart served at /charts (a Helm repository): the repo's
 * deploy/daalu-edge, packaged at start; its Chart.yaml version is the edge
 * release this hub offers.
 */
export const DEFAULT_GATEWAY_EDGE_CHART_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../deploy/daalu-edge");
/** The operator web app's build (`npm run build -w web`), served at / and /assets. */
export const DEFAULT_GATEWAY_WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../web/dist");
/** Browser sessions: absolute lifetime from sign-in, and how long one may sit unused. */
export const DEFAULT_GATEWAY_SESSION_TTL_MS = 12 * 3_600_000;
export const DEFAULT_GATEWAY_SESSION_IDLE_TTL_MS = 3_600_000;
/**
 * Failed sign-ins allowed per tenant+username and per source IP before 429
 * TOO_MANY_ATTEMPTS; each allowance refills at one attempt a minute (per
 * username) or every 10 seconds (per IP). Kept per gateway process.
 */
export const DEFAULT_GATEWAY_LOGIN_FAILURES_PER_USER = 5;
export const DEFAULT_GATEWAY_LOGIN_FAILURES_PER_IP = 30;
export const DEFAULT_GATEWAY_OIDC_GROUPS_CLAIM = "groups";
export const DEFAULT_GATEWAY_OIDC_SCOPES = "openid profile email groups";
export const DEFAULT_GATEWAY_OIDC_LABEL = "Single sign-on";
/** How often an open live event stream (GET /v1/events) sends a `: ping` comment. */
export const DEFAULT_GATEWAY_EVENTS_HEARTBEAT_MS = 15_000;
/**
 * Live event streams open at once (each holds one JetStream consumer): per
 * gateway, and per tenant (so one tenant's tabs cannot take them all).
 */
export const DEFAULT_GATEWAY_EVENTS_MAX_STREAMS = 2_000;
export const DEFAULT_GATEWAY_EVENTS_MAX_STREAMS_PER_TENANT = 100;
/** uid and gid kubectl runs as when the gateway runs as root (nobody). */
export const DEFAULT_GATEWAY_KUBECTL_RUN_AS = 65_534;

export interface GatewayConfig extends CommonConfig {
  databaseUrl: string;
  host: string;
  port: number;
  /** The URL operators and edges reach the gateway at (helm commands, UI links). */
  publicUrl: string;
  dbPool: number;
  bootstrapRate: number;
  bootstrapBurst: number;
  bodyLimit: number;
  authCacheMs: number;
  /** GET /v1/events: a comment line this often keeps proxies from timing the stream out. */
  eventsHeartbeatMs: number;
  events: { maxStreams: number; maxStreamsPerTenant: number };
  /** The edge chart's directory, served as a Helm repository at /charts. */
  edgeChartDir: string;
  /** The operator web app's build directory (index.html and assets/). */
  webDir: string;
  kubectl: { maxRuns: number; maxRunsPerTenant: number; maxRunsPerCluster: number; runAs: number };
  /** Tenants whose Assistant callers may open exec/attach/port-forward sessions ("*" = every tenant); none by default. */
  sessionAssistantTenants: string[];
  /**
   * Serve HTTPS with this certificate and key (PEM files). kubectl sends bearer
   * tokens only over TLS, so the Kubernetes endpoint needs it unless a
   * TLS-terminating ingress sits in front.
   */
  tls: { certFile: string; keyFile: string; caFile: string | undefined } | undefined;
  session: { ttlMs: number; idleMs: number; failuresPerUser: number; failuresPerIp: number };
  /** OIDC single sign-on (authorization code + PKCE); undefined when GATEWAY_OIDC_ISSUER is unset. */
  oidc: OidcConfig | undefined;
}

export interface OidcConfig {
  issuer: string;
  clientId: string;
  /** Undefined: a public client (PKCE only). */
  clientSecret: string | undefined;
  redirectUrl: string;
  /** The tenant the identity provider signs people into. */
  tenant: string;
  groupsClaim: string;
  /** Scopes asked for (GATEWAY_OIDC_SCOPES). */
  scopes: string;
  roleMap: RoleMap;
  /** The sign-in page's button text. */
  label: string;
}

/** The only reader of the environment; reports every problem at once. */
export function loadConfig(env: Record<string, string | undefined>): GatewayConfig {
  const r = new EnvReader(env);
  const common = readCommon(r, env, "gateway");
  // Port 0 asks the OS for a free one (tests).
  const listen = parseHostPort(r.hostPort("GATEWAY_LISTEN", DEFAULT_GATEWAY_LISTEN));
  const port = listen?.port ?? 8080;
  const certFile = r.optional("GATEWAY_TLS_CERT_FILE");
  const keyFile = r.optional("GATEWAY_TLS_KEY_FILE");
  r.check((certFile === undefined) === (keyFile === undefined), "GATEWAY_TLS_CERT_FILE and GATEWAY_TLS_KEY_FILE go together: set both or neither");
  const tls = certFile && keyFile ? { certFile, keyFile, caFile: r.optional("GATEWAY_TLS_CA_FILE") } : undefined;
  const publicUrl = r.url("GATEWAY_PUBLIC_URL", `${tls ? "https" : "http"}://127.0.0.1:${port}`);
  const cfg: GatewayConfig = {
    ...common,
    databaseUrl: r.url("DATABASE_URL", DEFAULT_DATABASE_URL),
    host: listen?.host ?? "0.0.0.0",
    port,
    publicUrl: publicUrl.replace(/\/+$/, ""),
    dbPool: r.int("GATEWAY_DB_POOL", DEFAULT_GATEWAY_DB_POOL, 1, 1000),
    bootstrapRate: r.int("GATEWAY_BOOTSTRAP_RATE", DEFAULT_GATEWAY_BOOTSTRAP_RATE, 0, 1_000_000),
    bootstrapBurst: r.int("GATEWAY_BOOTSTRAP_BURST", DEFAULT_GATEWAY_BOOTSTRAP_BURST, 1, 10_000_000),
    bodyLimit: r.int("GATEWAY_BODY_LIMIT", DEFAULT_GATEWAY_BODY_LIMIT, 1024, 64 * 1024 * 1024),
    authCacheMs: r.duration("GATEWAY_AUTH_CACHE", DEFAULT_GATEWAY_AUTH_CACHE_MS),
    eventsHeartbeatMs: r.duration("GATEWAY_EVENTS_HEARTBEAT", DEFAULT_GATEWAY_EVENTS_HEARTBEAT_MS),
    events: {
      maxStreams: r.int("GATEWAY_EVENTS_MAX_STREAMS", DEFAULT_GATEWAY_EVENTS_MAX_STREAMS, 1, 1_000_000),
      maxStreamsPerTenant: r.int("GATEWAY_EVENTS_MAX_STREAMS_PER_TENANT", DEFAULT_GATEWAY_EVENTS_MAX_STREAMS_PER_TENANT, 1, 1_000_000),
    },
    tls,
    edgeChartDir: path.resolve(r.str("GATEWAY_EDGE_CHART_DIR", DEFAULT_GATEWAY_EDGE_CHART_DIR)),
    webDir: path.resolve(r.str("GATEWAY_WEB_DIR", DEFAULT_GATEWAY_WEB_DIR)),
    session: {
      ttlMs: r.duration("GATEWAY_SESSION_TTL", DEFAULT_GATEWAY_SESSION_TTL_MS),
      idleMs: r.duration("GATEWAY_SESSION_IDLE_TTL", DEFAULT_GATEWAY_SESSION_IDLE_TTL_MS),
      failuresPerUser: r.int("GATEWAY_LOGIN_FAILURES_PER_USER", DEFAULT_GATEWAY_LOGIN_FAILURES_PER_USER, 1, 1_000_000),
      failuresPerIp: r.int("GATEWAY_LOGIN_FAILURES_PER_IP", DEFAULT_GATEWAY_LOGIN_FAILURES_PER_IP, 1, 1_000_000),
    },
    oidc: readOidc(r, publicUrl.replace(/\/+$/, "")),
    kubectl: {
      maxRuns: r.int("GATEWAY_KUBECTL_MAX_RUNS", DEFAULT_GATEWAY_KUBECTL_MAX_RUNS, 1, 1_000),
      maxRunsPerTenant: r.int("GATEWAY_KUBECTL_MAX_RUNS_PER_TENANT", DEFAULT_GATEWAY_KUBECTL_MAX_RUNS_PER_TENANT, 1, 1_000),
      maxRunsPerCluster: r.int("GATEWAY_KUBECTL_MAX_RUNS_PER_CLUSTER", DEFAULT_GATEWAY_KUBECTL_MAX_RUNS_PER_CLUSTER, 1, 1_000),
      runAs: r.int("GATEWAY_KUBECTL_RUN_AS", DEFAULT_GATEWAY_KUBECTL_RUN_AS, 1, 4_294_967_294),
    },
    sessionAssistantTenants: (r.optional("GATEWAY_SESSIONS_ASSISTANT_TENANTS") ?? "").split(",").map((t) => t.trim()).filter(Boolean),
  };
  r.check(cfg.eventsHeartbeatMs >= 100, "GATEWAY_EVENTS_HEARTBEAT must be at least 100ms");
  r.done();
  return cfg;
}

function readOidc(r: EnvReader, publicUrl: string): OidcConfig | undefined {
  const issuer = r.optional("GATEWAY_OIDC_ISSUER");
  if (issuer === undefined) return undefined;
  const clientId = r.optional("GATEWAY_OIDC_CLIENT_ID");
  const tenant = r.optional("GATEWAY_OIDC_TENANT");
  const roleMapText = r.optional("GATEWAY_OIDC_ROLE_MAP");
  r.check(clientId !== undefined, "GATEWAY_OIDC_CLIENT_ID is required with GATEWAY_OIDC_ISSUER");
  r.check(tenant !== undefined, "GATEWAY_OIDC_TENANT is required with GATEWAY_OIDC_ISSUER");
  r.check(roleMapText !== undefined, "GATEWAY_OIDC_ROLE_MAP is required with GATEWAY_OIDC_ISSUER (e.g. daalu-admins=admin,daalu-ops=operator,*=viewer)");
  let roleMap: RoleMap = { groups: new Map(), fallback: undefined };
  try {
    roleMap = parseRoleMap(roleMapText ?? "");
  } catch (err) {
    r.check(false, `GATEWAY_OIDC_ROLE_MAP: ${(err as Error).message}`);
  }
  return {
    issuer: r.url("GATEWAY_OIDC_ISSUER"),
    clientId: clientId ?? "",
    clientSecret: r.optional("GATEWAY_OIDC_CLIENT_SECRET"),
    redirectUrl: r.url("GATEWAY_OIDC_REDIRECT_URL", `${publicUrl}/v1/auth/oidc/callback`),
    tenant: tenant ?? "",
    groupsClaim: r.str("GATEWAY_OIDC_GROUPS_CLAIM", DEFAULT_GATEWAY_OIDC_GROUPS_CLAIM),
    scopes: r.str("GATEWAY_OIDC_SCOPES", DEFAULT_GATEWAY_OIDC_SCOPES),
    roleMap,
    label: r.str("GATEWAY_OIDC_LABEL", DEFAULT_GATEWAY_OIDC_LABEL),
  };
}
