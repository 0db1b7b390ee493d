import { DEFAULT_DATABASE_URL, EnvReader, readCommon, type CommonConfig } from "@daalu/runtime";
import { DEFAULT_BUNDLE_LIMITS } from "./domain/bundle.js";

export const SERVICE_NAME = "drift";
export const DEFAULT_DRIFT_GRPC_ADDR = "0.0.0.0:7105";
export const DEFAULT_DRIFT_DB_POOL = 4;

export interface DriftConfig extends CommonConfig {
  databaseUrl: string;
  dbPoolSize: number;
  /** gRPC listen address, or undefined when disabled ("off"). */
  grpcAddr: string | undefined;
  /** Largest accepted bundle upload. */
  maxBundleBytes: number;
  /** Most documents in one bundle. */
  maxBundleDocuments: number;
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
  };
  r.done();
  return cfg;
}
