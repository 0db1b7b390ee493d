/** Drift's records as its protobuf messages. */
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { driftv1 } from "@daalu/proto";
import type { DriftState, Summary } from "../../domain/detect.js";
import type { Report, Settings, Trigger } from "../pg/reconciliation-store.js";

const STATES: Record<DriftState, driftv1.ObjectDriftState> = {
  in_sync: driftv1.ObjectDriftState.IN_SYNC,
  modified: driftv1.ObjectDriftState.MODIFIED,
  missing: driftv1.ObjectDriftState.MISSING,
  unknown: driftv1.ObjectDriftState.UNKNOWN,
};
const TRIGGERS: Record<Trigger, driftv1.CheckTrigger> = {
  schedule: driftv1.CheckTrigger.SCHEDULE,
  on_demand: driftv1.CheckTrigger.ON_DEMAND,
  reconnect: driftv1.CheckTrigger.RECONNECT,
};

export function summaryToProto(s: Summary) {
  return { inSync: s.inSync, modified: s.modified, missing: s.missing, unknown: s.unknown };
}

export function settingsToProto(s: Settings) {
  return {
    clusterId: s.clusterId,
    enabled: s.enabled,
    intervalSeconds: s.intervalSeconds,
    ignore: s.ignore,
    updatedBy: s.updatedBy,
    ...(s.updatedAt ? { updatedAt: timestampFromDate(s.updatedAt) } : {}),
  };
}

export function reportToProto(r: Report) {
  return {
    clusterId: r.clusterId,
    bundleVersion: r.bundleVersion,
    trigger: TRIGGERS[r.trigger],
    startedAt: timestampFromDate(r.startedAt),
    finishedAt: timestampFromDate(r.finishedAt),
    summary: summaryToProto(r.summary),
    drifted: r.drifted,
    reads: r.reads,
    objects: r.objects.map((o) => ({
      apiVersion: o.apiVersion,
      kind: o.kind,
      namespace: o.namespace,
      name: o.name,
      state: STATES[o.state],
      patch: o.patch ? JSON.stringify(o.patch) : "",
      error: o.error ?? "",
      scope: o.scope ?? "",
    })),
  };
}
