import { EnvReader, readCommon, type CommonConfig } from "@daalu/runtime";
import { DEFAULT_DATABASE_URL } from "@daalu/runtime";
import { isShellSafe } from "./domain/helm-command.js";

export const SERVICE_NAME = "invite";
export const DEFAULT_INVITE_GRPC_ADDR = "0.0.0.0:7101";
/**
 * A redemption holds its connection across the peering reservation (the
 * invite row stays locked), so this bounds concurrent redemptions per
 * replica; the store's gate queues the rest. Sized with the other services'
 * pools so that three replicas of everything stay under PostgreSQL's default
 * max_connections of 100 (gateway 10 + invite 8 + peering 6 + audit 5 = 29
 * per replica).
 */
export const DEFAULT_INVITE_DB_POOL = 8;
export const DEFAULT_INVITE_TTL_MS = 3_600_000;
export const DEFAULT_INVITE_HUB_URL = "http://127.0.0.1:8080";
/**
 * The edge chart version the helm command installs: the edge release this hub
 * offers, which the gateway serves at <hub>/charts from deploy/daalu-edge. It
 * must equal that Chart.yaml's version (config.test.ts pins it).
 */
export const DEFAULT_INVITE_CHART_VERSION = "0.1.0";
export const DEFAULT_INVITE_PEERING_TIMEOUT_MS = 5_000;

export interface InviteConfig extends CommonConfig {
  databaseUrl: string;
  dbPoolSize: number;
  /** gRPC listen address, or undefined when disabled ("off"). */
  grpcAddr: string | undefined;
  /** How long a new invite stays redeemable. */
  ttlMs: number;
  /** hub.url in the helm command: where the edge's bootstrap Job reaches the gateway. */
  hubUrl: string;
  /** The chart reference in the helm command; undefined = the hub's own repository (<hubUrl>/charts). */
  chartRef: string | undefined;
  /** The chart version in the helm command. */
  chartVersion: string;
  /** Timeout of each call to the peering service. */
  peeringTimeoutMs: number;
}

/** The only reader of the environment. Reports every problem at once. */
export function loadConfig(env: Record<string, string | undefined>): InviteConfig {
  const r = new EnvReader(env);
  const common = readCommon(r, env, SERVICE_NAME);
  const grpcAddr = r.hostPort("INVITE_GRPC_ADDR", DEFAULT_INVITE_GRPC_ADDR, { off: true });
  const ttlMs = r.duration("INVITE_TTL", DEFAULT_INVITE_TTL_MS);
  r.check(ttlMs > 0, "INVITE_TTL must be positive");
  const peeringTimeoutMs = r.duration("INVITE_PEERING_TIMEOUT", DEFAULT_INVITE_PEERING_TIMEOUT_MS);
  r.check(peeringTimeoutMs > 0, "INVITE_PEERING_TIMEOUT must be positive");
  const hubUrl = r.url("INVITE_HUB_URL", DEFAULT_INVITE_HUB_URL);
  r.check(isShellSafe(hubUrl), `INVITE_HUB_URL must not contain spaces, quotes, commas or shell metacharacters, got "${hubUrl}"`);
  const chartRef = r.optional("INVITE_CHART_REF") || undefined;
  r.check(chartRef === undefined || isShellSafe(chartRef), `INVITE_CHART_REF must not contain spaces, quotes, commas or shell metacharacters, got "${chartRef}"`);
  const chartVersion = r.str("INVITE_CHART_VERSION", DEFAULT_INVITE_CHART_VERSION);
  r.check(/^\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]+)?$/.test(chartVersion), `INVITE_CHART_VERSION must be a SemVer version like 1.2.3, got "${chartVersion}"`);
  const cfg: InviteConfig = {
    ...common,
    databaseUrl: r.str("DATABASE_URL", DEFAULT_DATABASE_URL),
    dbPoolSize: r.int("INVITE_DB_POOL", DEFAULT_INVITE_DB_POOL, 1, 1000),
    grpcAddr,
    ttlMs,
    hubUrl,
    chartRef,
    chartVersion,
    peeringTimeoutMs,
  };
  r.done();
  return cfg;
}
