/**
 * @daalu/audit — the audit service's public API: the call-record publisher the
 * tunnel-proxy uses, the query clients, and the contract types.
 */
export {
  createAuditClient,
  createAuditGrpcClient,
  createAuditPublisher,
  newCallRecord,
  DEFAULT_PUBLISH_ATTEMPT_TIMEOUT_MS,
  DEFAULT_PUBLISH_DEADLINE_MS,
  type AuditClient,
  type AuditPublisher,
  type AuditPublisherOptions,
} from "./client.js";
export { DEFAULT_SESSION_OWNER_HEARTBEAT_MS, publishOwnerHeartbeat, sessionOwnersAliveSubject } from "./session-owners.js";
export { AUDIT_STREAM, AUDIT_CONSUMER, auditStreamName, ensureAuditStream } from "./adapters/nats/stream.js";
export { AuditUnavailableError, InvalidCallRecordError } from "./errors.js";
export { auditv1 } from "@daalu/proto";
