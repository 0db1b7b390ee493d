/**
 * The drift service's named domain errors. Reasons are stable API: the
 * gateway maps them to problem+json.
 */
import { Code, DaaluError } from "@daalu/runtime";
import type { BundleProblem } from "./domain/bundle.js";

/** At most this many problems are spelled out in one message. */
const LISTED = 20;

export class DesiredStateInvalidError extends DaaluError {
  constructor(problems: BundleProblem[]) {
    const listed = problems.slice(0, LISTED).map((p) => (p.document > 0 ? `document ${p.document}, line ${p.line}: ${p.message}` : p.message));
    const more = problems.length > LISTED ? `; and ${problems.length - LISTED} more` : "";
    super(Code.InvalidArgument, `the desired state was not stored: ${listed.join("; ")}${more}`, { reason: "DESIRED_STATE_INVALID", httpStatus: 400 });
  }
}

export class DesiredStateNotFoundError extends DaaluError {
  constructor(clusterId: string, version?: number) {
    super(Code.NotFound, version ? `cluster ${clusterId} has no desired state version ${version}` : `cluster ${clusterId} has no desired state yet`, { reason: "DESIRED_STATE_NOT_FOUND" });
  }
}

export class ReconciliationOffError extends DaaluError {
  constructor(clusterId: string) {
    super(Code.FailedPrecondition, `reconciliation is off for cluster ${clusterId}: turn it on first (no drift read goes through its tunnel while it is off)`, { reason: "RECONCILIATION_OFF" });
  }
}

export class ReconciliationInvalidError extends DaaluError {
  constructor(problem: string) {
    super(Code.InvalidArgument, `the reconciliation settings were not stored: ${problem}`, { reason: "RECONCILIATION_INVALID", httpStatus: 400 });
  }
}

export class DriftReportNotFoundError extends DaaluError {
  constructor(clusterId: string) {
    super(Code.NotFound, `cluster ${clusterId} has not been checked yet`, { reason: "DRIFT_REPORT_NOT_FOUND" });
  }
}
