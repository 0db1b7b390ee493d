import type { Generated } from "kysely";

/** Tables of the `audit` schema, as kysely sees them. */
export interface CallsTable {
  id: string;
  tenant_id: string;
  cluster_id: string;
  caller_kind: number;
  caller_id: string;
  verb: string;
  resource: string;
  namespace: string;
  name: string;
  path: string;
  subresource: string;
  api_group: string;
  status_code: number;
  ok: boolean;
  error: string;
  latency_ms: number;
  bytes_in: number;
  bytes_out: number;
  trace_id: string;
  time: Date;
  received_at: Generated<Date>;
  session_phase: Generated<number>;
  session_command: Generated<string[]>;
  session_container: Generated<string>;
  session_ports: Generated<string[]>;
  session_ended_at: Date | null;
  session_close_reason: Generated<string>;
  session_exit_status: Generated<string>;
  session_exit_code: number | null;
  session_owner: Generated<string>;
}

export interface UsageHourlyTable {
  tenant_id: string;
  cluster_id: string;
  hour: Date;
  calls: number;
  errors: number;
  bytes_in: number;
  bytes_out: number;
  sessions: Generated<number>;
}

export interface AuditDb {
  calls: CallsTable;
  usage_hourly: UsageHourlyTable;
}
