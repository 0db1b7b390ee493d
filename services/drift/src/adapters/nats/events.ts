/** Publishes DriftEvents (core NATS) on `[prefix.]daalu.events.<tenant>.drift.detected|resolved`. */
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { driftv1 } from "@daalu/proto";
import { eventSubject, type Logger, type NatsConnection } from "@daalu/runtime";
import type { Report } from "../pg/reconciliation-store.js";
import { summaryToProto } from "./convert.js";

export class DriftEvents {
  constructor(
    private readonly nc: NatsConnection,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {}

  /** A failed publish is logged; the report is stored already. */
  publish(tenantId: string, report: Report, event: "detected" | "resolved"): void {
    const msg = create(driftv1.DriftEventSchema, {
      tenantId,
      clusterId: report.clusterId,
      kind: event === "detected" ? driftv1.DriftEventKind.DETECTED : driftv1.DriftEventKind.RESOLVED,
      bundleVersion: report.bundleVersion,
      summary: summaryToProto(report.summary),
      time: timestampFromDate(report.finishedAt),
    });
    const subject = eventSubject(this.prefix, tenantId, `drift.${event}`);
    try {
      this.nc.publish(subject, toBinary(driftv1.DriftEventSchema, msg));
    } catch (err) {
      this.logger.warn({ err, subject, clusterId: report.clusterId }, "drift event not published");
    }
  }
}
