/**
 * The effective RBAC an edge reports in GetStatus (its proxy account's
 * SelfSubjectRulesReview), kept in `cluster_rbac` (adapters/pg/rbac-store.ts)
 * only when it changes, so a probe every few seconds costs no write.
 */
import type { Logger } from "@daalu/runtime";
import type { Rule } from "@daalu/rbac";
import type { RbacStore } from "../adapters/pg/rbac-store.js";

export interface RbacReport {
  rules: Rule[];
  incomplete: boolean;
  error: string;
  at: Date;
}

export class RbacReports {
  private readonly last = new Map<string, string>();

  constructor(
    private readonly store: Pick<RbacStore, "recordEffective">,
    private readonly log: Logger,
  ) {}

  async record(clusterId: string, report: RbacReport): Promise<void> {
    const key = JSON.stringify([report.rules, report.incomplete, report.error]);
    if (this.last.get(clusterId) === key) return;
    try {
      const r = await this.store.recordEffective(clusterId, report);
      this.last.set(clusterId, key);
      this.log.info({ clusterId, rules: report.rules.length, error: report.error, confirmedAt: r.confirmedAt }, "edge rbac changed");
    } catch (err) {
      // The cluster may be gone; the next probe tries again.
      this.log.warn({ err, clusterId }, "storing the edge's rbac failed");
    }
  }
}
