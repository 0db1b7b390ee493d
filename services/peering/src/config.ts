/** The only reader of process.env for the peering service. */
import { DEFAULT_DATABASE_URL, EnvReader, parseHostPort, readCommon, type CommonConfig } from "@daalu/runtime";
import { hostname } from "node:os";
import { DEFAULT_INVITE_CHART_VERSION, DEFAULT_INVITE_HUB_URL, helmUpgradeCommand, isShellSafe } from "@daalu/invite";
import { edgeReleasesProblem, type EdgeReleases } from "./domain/edge-release.js";
import { CidrParseError, formatCidr, overlaps, parseCidr } from "./domain/ipv4.js";
import { KeyRingParseError, parseKeyRing, type KeyRing } from "./keyring.js";
import { readHubNodeConfig, type HubNodeConfig } from "./wg-node/config.js";

export const SERVICE_NAME = "peering";
export const DEFAULT_GRPC_ADDR = "0.0.0.0:7102";
export const DEFAULT_SUBNET_POOL = "10.100.0.0/14";
/**
 * Where tenants' hub addresses come from: outside every tenant subnet, so the
 * whole subnet (network and broadcast excluded) is for clusters: 254 in a /24.
 */
export const DEFAULT_HUB_POOL = "10.99.0.0/16";
export const DEFAULT_PREFIX = 24;
export const DEFAULT_HUB_ENDPOINT = "127.0.0.1:51820";
export const DEFAULT_KEEPALIVE_MS = 25_000;
export const DEFAULT_RECOVERY_INTERVAL_MS = 5_000;
export const DEFAULT_PENDING_TIMEOUT_MS = 15_000;
/**
 * Enrollment statements are single short statements (no connection is held
 * across a call to another service). Sized so that three replicas of every
 * service stay under PostgreSQL's default max_connections of 100 (see
 * DEFAULT_INVITE_DB_POOL).
 */
export const DEFAULT_DB_POOL = 6;
/** New tenants are placed so that a block this many bits wider is free too (room to widen /24 -> /22). */
export const DEFAULT_GROWTH_BITS = 2;
/**
 * The edge release the hub offers: by default the version of the daalu-edge
 * chart the gateway serves at <hub>/charts (the invite's install command pins
 * the same version; a test pins both to deploy/daalu-edge/Chart.yaml).
 */
export const DEFAULT_EDGE_CURRENT_VERSION = DEFAULT_INVITE_CHART_VERSION;
/** The oldest edge version the hub supports: the first release. */
export const DEFAULT_EDGE_MIN_VERSION = "0.1.0";

export interface PeeringConfig extends CommonConfig {
  databaseUrl: string;
  /** "off" disables the gRPC server. */
  grpcAddr: string;
  /** Pool that new tenants' subnets are carved from, e.g. "10.100.0.0/14", and the only block a tenant subnet may lie in (explicit or widened). */
  subnetPool: string;
  /** Pool of the tenants' hub addresses (one /32 each), disjoint from every tenant subnet. */
  hubPool: string;
  defaultPrefix: number;
  growthBits: number;
  hubEndpoint: string;
  /** Every hub node's endpoint, in the order edges try them (PEERING_HUB_ENDPOINTS; [hubEndpoint] when unset). */
  hubEndpoints: string[];
  keepaliveMs: number;
  hubPrivateKeyFile: string | undefined;
  /**
   * PEERING_KEY_ENCRYPTION_KEYS: the key-encryption keys that seal the hub's
   * private key in PostgreSQL (the first seals, all open). Required unless the
   * key comes from PEERING_HUB_PRIVATE_KEY_FILE.
   */
  keyRing: KeyRing | undefined;
  recoveryIntervalMs: number;
  pendingTimeoutMs: number;
  dbPoolSize: number;
  /** The hub's WireGuard node (PEERING_WG=on), or undefined: this replica then only serves the API. */
  hubNode: HubNodeConfig | undefined;
  /**
   * The edge releases cluster rows are judged against, and their upgrade
   * command (PEERING_HUB_URL and PEERING_EDGE_CHART_REF name the chart as
   * INVITE_HUB_URL and INVITE_CHART_REF do for the install command).
   */
  edgeReleases: EdgeReleases;
}

export function loadConfig(env: Record<string, string | undefined>): PeeringConfig {
  const r = new EnvReader(env);
  const common = readCommon(r, env, SERVICE_NAME);
  const subnetPool = r.str("PEERING_SUBNET_POOL", DEFAULT_SUBNET_POOL);
  const defaultPrefix = r.int("PEERING_DEFAULT_PREFIX", DEFAULT_PREFIX, 16, 29);
  let pool = "";
  try {
    const p = parseCidr(subnetPool);
    pool = formatCidr(p);
    r.check(p.prefix <= defaultPrefix, `PEERING_SUBNET_POOL ${pool} is smaller than one /${defaultPrefix} (PEERING_DEFAULT_PREFIX)`);
  } catch (err) {
    if (!(err instanceof CidrParseError)) throw err;
    r.check(false, `PEERING_SUBNET_POOL: ${err.message}`);
  }
  const hubPoolText = r.str("PEERING_HUB_POOL", DEFAULT_HUB_POOL);
  let hubPool = "";
  try {
    const h = parseCidr(hubPoolText);
    hubPool = formatCidr(h);
    r.check(h.prefix <= 30, `PEERING_HUB_POOL ${hubPool} must hold at least two addresses (/30 or wider)`);
    if (pool) r.check(!overlaps(h, parseCidr(pool)), `PEERING_HUB_POOL ${hubPool} overlaps PEERING_SUBNET_POOL ${pool}; hub addresses must lie outside every tenant subnet`);
  } catch (err) {
    if (!(err instanceof CidrParseError)) throw err;
    r.check(false, `PEERING_HUB_POOL: ${err.message}`);
  }
  const listed = (r.optional("PEERING_HUB_ENDPOINTS") ?? "").split(",").map((x) => x.trim()).filter(Boolean);
  for (const e of listed) r.check((parseHostPort(e)?.port ?? 0) > 0, `PEERING_HUB_ENDPOINTS: "${e}" is not host:port`);
  // PEERING_HUB_ENDPOINT is the one-item form; with both, the list wins and the single one must be in it.
  const hubEndpoint = listed[0] ?? r.hostPort("PEERING_HUB_ENDPOINT", DEFAULT_HUB_ENDPOINT, { portZero: false });
  const hubEndpoints = listed.length > 0 ? listed : [hubEndpoint];
  const keepaliveMs = r.duration("PEERING_KEEPALIVE", DEFAULT_KEEPALIVE_MS);
  r.check(keepaliveMs >= 1000 && keepaliveMs <= 65_535_000 && keepaliveMs % 1000 === 0, `PEERING_KEEPALIVE must be whole seconds between 1s and 65535s`);
  const hubPrivateKeyFile = r.optional("PEERING_HUB_PRIVATE_KEY_FILE");
  let keyRing: KeyRing | undefined;
  const kekText = r.optional("PEERING_KEY_ENCRYPTION_KEYS");
  if (kekText !== undefined) {
    try {
      keyRing = parseKeyRing(kekText);
    } catch (err) {
      if (!(err instanceof KeyRingParseError)) throw err;
      r.check(false, `PEERING_KEY_ENCRYPTION_KEYS: ${err.message}`);
    }
  } else {
    r.check(
      hubPrivateKeyFile !== undefined,
      "PEERING_KEY_ENCRYPTION_KEYS is required: the hub's WireGuard private key is stored encrypted (id:base64 of 32 bytes, e.g. kek1:$(openssl rand -base64 32)); or give the key in PEERING_HUB_PRIVATE_KEY_FILE",
    );
  }
  const edgeReleases = readEdgeReleases(r);
  const grpcAddr = r.hostPort("PEERING_GRPC_ADDR", DEFAULT_GRPC_ADDR, { off: true }) ?? "off";
  const cfg: PeeringConfig = {
    ...common,
    databaseUrl: r.url("DATABASE_URL", DEFAULT_DATABASE_URL),
    grpcAddr,
    subnetPool: pool || subnetPool,
    hubPool: hubPool || hubPoolText,
    defaultPrefix,
    growthBits: r.int("PEERING_SUBNET_GROWTH_BITS", DEFAULT_GROWTH_BITS, 0, 8),
    hubEndpoint,
    hubEndpoints,
    keepaliveMs,
    hubPrivateKeyFile,
    keyRing,
    recoveryIntervalMs: r.duration("PEERING_RECOVERY_INTERVAL", DEFAULT_RECOVERY_INTERVAL_MS),
    pendingTimeoutMs: r.duration("PEERING_PENDING_TIMEOUT", DEFAULT_PENDING_TIMEOUT_MS),
    dbPoolSize: r.int("PEERING_DB_POOL", DEFAULT_DB_POOL, 1, 1000),
    hubNode: readHubNodeConfig(r, hostname()),
    edgeReleases,
  };
  r.check(cfg.recoveryIntervalMs > 0, "PEERING_RECOVERY_INTERVAL must be positive");
  r.done();
  return cfg;
}

function readEdgeReleases(r: EnvReader): EdgeReleases {
  const current = r.str("PEERING_EDGE_CURRENT_VERSION", DEFAULT_EDGE_CURRENT_VERSION);
  const minimum = r.str("PEERING_EDGE_MIN_VERSION", DEFAULT_EDGE_MIN_VERSION);
  const problem = edgeReleasesProblem(current, minimum);
  r.check(problem === undefined, problem ?? "");
  const hubUrl = r.url("PEERING_HUB_URL", DEFAULT_INVITE_HUB_URL);
  r.check(isShellSafe(hubUrl), `PEERING_HUB_URL must not contain spaces, quotes, commas or shell metacharacters, got "${hubUrl}"`);
  const chartRef = r.optional("PEERING_EDGE_CHART_REF") || undefined;
  r.check(chartRef === undefined || isShellSafe(chartRef), `PEERING_EDGE_CHART_REF must not contain spaces, quotes, commas or shell metacharacters, got "${chartRef}"`);
  const safe = problem === undefined && isShellSafe(hubUrl) && (chartRef === undefined || isShellSafe(chartRef));
  return { current, minimum, upgradeCommand: safe ? helmUpgradeCommand({ chartRef, chartVersion: current, hubUrl }) : "" };
}
