import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { AuditPublisher } from "@daalu/audit";
import { newCallRecord } from "@daalu/audit";
import { driftv1 } from "@daalu/proto";
import { formatCaller, requireTenant, type MethodsOf, type ServiceImpl } from "@daalu/runtime";
import { parseBundle, type BundleLimits } from "../../domain/bundle.js";
import { checkSettings } from "../../domain/settings.js";
import type { Detector } from "../../detector.js";
import { DesiredStateInvalidError, DesiredStateNotFoundError, DriftReportNotFoundError, ReconciliationInvalidError } from "../../errors.js";
import type { ReconciliationStore } from "../pg/reconciliation-store.js";
import type { BundleStore, StoredBundle } from "../pg/store.js";
import { reportToProto, settingsToProto } from "./convert.js";

export type DriftMethods = MethodsOf<typeof driftv1.DriftService>;

export interface HandlerDeps {
  bundles: BundleStore;
  store: ReconciliationStore;
  detector: Detector;
  /** Where SetReconciliation's audit record goes. */
  audit: AuditPublisher;
  limits: BundleLimits;
  clock: () => number;
}

function toBundle(b: StoredBundle) {
  return { clusterId: b.clusterId, version: b.version, digest: b.digest, objectCount: b.objectCount, sizeBytes: b.sizeBytes, uploadedBy: b.uploadedBy, uploadedAt: timestampFromDate(b.uploadedAt) };
}

/** DriftService over the stores and the detector (served on NATS and gRPC alike). */
export function driftHandlers(d: HandlerDeps): ServiceImpl<DriftMethods> {
  return {
    async putDesiredState(req, ctx) {
      const tenant = requireTenant(ctx);
      const parsed = parseBundle(req.yaml, d.limits);
      if (!parsed.ok) throw new DesiredStateInvalidError(parsed.problems);
      const { bundle, created } = await d.bundles.put(tenant, req.clusterId, parsed.objects, formatCaller(ctx.caller));
      ctx.logger.info({ clusterId: req.clusterId, version: bundle.version, objects: bundle.objectCount, created }, "desired state uploaded");
      return { bundle: toBundle(bundle), created };
    },
    async getDesiredState(req, ctx) {
      const tenant = requireTenant(ctx);
      const version = req.version > 0 ? req.version : undefined;
      const found = await d.bundles.objects(tenant, req.clusterId, version);
      const meta = found ? await d.bundles.version(tenant, req.clusterId, found.version) : undefined;
      if (!found || !meta) throw new DesiredStateNotFoundError(req.clusterId, version);
      return {
        bundle: toBundle(meta),
        objects: found.objects.map((o) => ({ apiVersion: o.apiVersion, kind: o.kind, namespace: o.namespace, name: o.name, document: o.document, line: o.line })),
      };
    },
    async setReconciliation(req, ctx) {
      const tenant = requireTenant(ctx);
      const checked = checkSettings(req.intervalSeconds, req.ignore);
      if (!checked.ok) throw new ReconciliationInvalidError(checked.problem);
      const by = formatCaller(ctx.caller);
      const started = new Date(d.clock());
      // Audited before it takes effect: no audit, no change (AUDIT_UNAVAILABLE).
      await d.audit.publish(
        newCallRecord({
          tenantId: tenant,
          clusterId: req.clusterId,
          caller: { kind: ctx.caller.kind, id: ctx.caller.id },
          operation: { verb: "reconciliation", path: `reconciliation ${req.enabled ? "on" : "off"}, every ${checked.intervalSeconds} s, ${checked.ignore.length} ignore rule(s)` },
          outcome: { statusCode: 200, ok: true },
          time: timestampFromDate(started),
        }),
      );
      const s = await d.store.put(tenant, { clusterId: req.clusterId, enabled: req.enabled, intervalSeconds: checked.intervalSeconds, ignore: checked.ignore, updatedBy: by }, d.clock());
      ctx.logger.info({ clusterId: req.clusterId, enabled: s.enabled, intervalSeconds: s.intervalSeconds, ignoreRules: s.ignore.length, by }, "reconciliation set");
      return { reconciliation: settingsToProto(s) };
    },
    async getReconciliation(req, ctx) {
      return { reconciliation: settingsToProto(await d.store.settings(requireTenant(ctx), req.clusterId)) };
    },
    async checkNow(req, ctx) {
      return { report: reportToProto(await d.detector.check(requireTenant(ctx), req.clusterId, "on_demand")) };
    },
    async getDriftReport(req, ctx) {
      const r = await d.store.report(requireTenant(ctx), req.clusterId);
      if (!r) throw new DriftReportNotFoundError(req.clusterId);
      return { report: reportToProto(r) };
    },
  };
}
