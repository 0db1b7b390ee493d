import { DEFAULT_DATABASE_URL, EnvReader, readCommon, type CommonConfig } from "@daalu/runtime";
import { DEFAULT_BUNDLE_LIMITS } from "./domain/bundle.js";

export const SERVICE_NAME = "drift";
export const DEFAULT_DRIFT_GRPC_ADDR = "0.0.0.0:7105";
export const DEFAULT_DRIFT_DB_POOL = 4;
export const DEFAULT_DRIFT_READS_PER_CLUSTER = 4;
export const DEFAULT_DRIFT_MAX_CHECKS = 32;

export interface DriftConfig extends CommonConfig {
  databaseUrl: string;
  dbPoolSize: number;
  /** gRPC listen address, or undefined when disabled ("off"). */
  grpcAddr: string | undefined;
  /** Largest accepted bundle upload. */
  maxBundleBytes: number;
  /** Most documents in one bundle. */
  maxBundleDocuments: number;
  /** Reads through one cluster's tunnel in flight during a check. */
  readsPerCluster: number;
  /** Scheduled checks running at once in this replica. */
  maxChecks: number;
  /** How often due clusters are claimed; 0: never (tests drive the schedule). */
  tickMs: number;
  /** How long one read through the tunnel may take to answer. */
  readTimeoutMs: number;
  /** Items per list page. */
  listPageSize: number;
}

/** The only reader of the environment. Reports every problem at once. */
export function loadConfig(env: Record<string, string | undefined>): DriftConfig {
  const r = new EnvReader(env);
  const common = readCommon(r, env, SERVICE_NAME);
  const cfg: DriftConfig = {
    ...common,
    databaseUrl: r.str("DATABASE_URL", DEFAULT_DATABASE_URL),
    dbPoolSize: r.int("DRIFT_DB_POOL", DEFAULT_DRIFT_DB_POOL, 1, 1000),
    grpcAddr: r.hostPort("DRIFT_GRPC_ADDR", DEFAULT_DRIFT_GRPC_ADDR, { off: true }),
    // Bounded by NATS's default 1 MiB payload less room for headers and the rest of the request.
    maxBundleBytes: r.int("DRIFT_MAX_BUNDLE_BYTES", DEFAULT_BUNDLE_LIMITS.maxBytes - 16 * 1024, 1, DEFAULT_BUNDLE_LIMITS.maxBytes),
    maxBundleDocuments: r.int("DRIFT_MAX_BUNDLE_DOCUMENTS", DEFAULT_BUNDLE_LIMITS.maxDocuments, 1, 100_000),
    readsPerCluster: r.int("DRIFT_READS_PER_CLUSTER", DEFAULT_DRIFT_READS_PER_CLUSTER, 1, 64),
    maxChecks: r.int("DRIFT_MAX_CHECKS", DEFAULT_DRIFT_MAX_CHECKS, 1, 10_000),
    tickMs: r.duration("DRIFT_SCHEDULE_TICK", 1_000),
    readTimeoutMs: r.duration("DRIFT_READ_TIMEOUT", 15_000),
    listPageSize: r.int("DRIFT_LIST_PAGE_SIZE", 500, 1, 5_000),
  };
  r.done();
  return cfg;
}
