import { DEFAULT_DATABASE_URL, EnvReader, readCommon, type CommonConfig } from "@daalu/runtime";

export const SERVICE_NAME = "audit";
export const DEFAULT_AUDIT_GRPC_ADDR = "0.0.0.0:7104";
/** Rows per INSERT: big enough to amortise a round trip, small enough for one short transaction. */
export const DEFAULT_AUDIT_BATCH_SIZE = 500;
/**
 * How long a partial batch waits for more records before it is written. Off
 * the call's path (the proxy waits for JetStream's PubAck only): a longer
 * window spreads each transaction's fixed cost over more rows when calls are
 * few, at the price of rows showing in queries this much later
 * (docs/performance.md: 50 ms → 250 ms took audit's CPU per call down by a
 * quarter at one caller).
 */
export const DEFAULT_AUDIT_BATCH_WAIT_MS = 250;
export const DEFAULT_AUDIT_DB_POOL = 5;
/** Longest pause between retries while PostgreSQL is unreachable. */
export const DEFAULT_AUDIT_RETRY_MAX_MS = 5_000;
/** After a replica dies, its unacked records go to another replica after this long. */
export const DEFAULT_AUDIT_ACK_WAIT_MS = 30_000;

/** A session row with no end record this long after its start shows as interrupted: keep it above TUNNEL_PROXY_SESSION_MAX_DURATION (8 h). */
export const DEFAULT_AUDIT_SESSION_INTERRUPTED_AFTER_MS = 9 * 3600_000;

/**
 * A tunnel-proxy instance not heard from this long is gone: its open session rows are marked interrupted
 * (session-sweeper.ts). Keep it several of the tunnel-proxy's heartbeats (2 s) long.
 */
export const DEFAULT_AUDIT_SESSION_OWNER_TIMEOUT_MS = 10_000;

export interface AuditConfig extends CommonConfig {
  sessionInterruptedAfterMs: number;
  sessionOwnerTimeoutMs: number;
  databaseUrl: string;
  dbPoolSize: number;
  /** gRPC listen address, or undefined when disabled ("off"). */
  grpcAddr: string | undefined;
  batchSize: number;
  batchWaitMs: number;
  retryMaxMs: number;
  ackWaitMs: number;
}

/** The only reader of the environment. Reports every problem at once. */
export function loadConfig(env: Record<string, string | undefined>): AuditConfig {
  const r = new EnvReader(env);
  const common = readCommon(r, env, SERVICE_NAME);
  const grpcAddr = r.hostPort("AUDIT_GRPC_ADDR", DEFAULT_AUDIT_GRPC_ADDR, { off: true });
  const batchWaitMs = r.duration("AUDIT_BATCH_WAIT", DEFAULT_AUDIT_BATCH_WAIT_MS);
  r.check(batchWaitMs >= 1 && batchWaitMs <= 10_000, `AUDIT_BATCH_WAIT must be between 1ms and 10s, got ${batchWaitMs}ms`);
  const retryMaxMs = r.duration("AUDIT_RETRY_MAX", DEFAULT_AUDIT_RETRY_MAX_MS);
  r.check(retryMaxMs >= 10, `AUDIT_RETRY_MAX must be at least 10ms, got ${retryMaxMs}ms`);
  const ackWaitMs = r.duration("AUDIT_ACK_WAIT", DEFAULT_AUDIT_ACK_WAIT_MS);
  r.check(ackWaitMs >= 1_000, `AUDIT_ACK_WAIT must be at least 1s, got ${ackWaitMs}ms`);
  const sessionOwnerTimeoutMs = r.duration("AUDIT_SESSION_OWNER_TIMEOUT", DEFAULT_AUDIT_SESSION_OWNER_TIMEOUT_MS);
  r.check(sessionOwnerTimeoutMs >= 1_000, `AUDIT_SESSION_OWNER_TIMEOUT must be at least 1s, got ${sessionOwnerTimeoutMs}ms`);
  const cfg: AuditConfig = {
    ...common,
    databaseUrl: r.url("DATABASE_URL", DEFAULT_DATABASE_URL),
    dbPoolSize: r.int("AUDIT_DB_POOL", DEFAULT_AUDIT_DB_POOL, 1, 1000),
    grpcAddr,
    // PostgreSQL allows 65535 bind parameters; 22 columns per row caps a batch near 2900.
    batchSize: r.int("AUDIT_BATCH_SIZE", DEFAULT_AUDIT_BATCH_SIZE, 1, 2_000),
    batchWaitMs,
    retryMaxMs,
    ackWaitMs,
    sessionInterruptedAfterMs: r.duration("AUDIT_SESSION_INTERRUPTED_AFTER", DEFAULT_AUDIT_SESSION_INTERRUPTED_AFTER_MS),
    sessionOwnerTimeoutMs,
  };
  r.done();
  return cfg;
}
