/**
 * Rebalancing's side of home routing (home-routing.ts): each cluster's calls
 * and sessions in flight on this process, and the answer to peering's
 * ReleaseClustersRequest (@daalu/peering clusterReleaseSubject).
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { peeringv1 } from "@daalu/proto";
import type { Logger } from "@daalu/runtime";
import type { Msg } from "@nats-io/transport-node";
import { settledWithin } from "../../settled.js";

export interface ReleaseRef {
  tenantId: string;
  clusterId: string;
}

/** A released cluster is held unserved this long when the request names no hold. */
export const DEFAULT_HOLD_MS = 20_000;
/** How long a release waits for a cluster's calls in flight before it refuses instead (peering waits 6 s). */
export const CLUSTER_SETTLE_MS = 3_000;
const MAX_HOLD_MS = 120_000;

/** Per cluster: the calls in flight and how many of them are sessions (exec, attach, port-forward). */
export class ClusterCalls {
  private readonly byKey = new Map<string, { calls: Set<Promise<unknown>>; sessions: number }>();

  /** Counts `call` for the cluster until it settles (a handler that returned nothing is not counted). */
  track(key: string, session: boolean, call: void | Promise<unknown>): void {
    if (!call) return;
    let e = this.byKey.get(key);
    if (!e) this.byKey.set(key, (e = { calls: new Set(), sessions: 0 }));
    const entry = e;
    entry.calls.add(call);
    if (session) entry.sessions++;
    void call
      .catch(() => undefined)
      .finally(() => {
        entry.calls.delete(call);
        if (session) entry.sessions--;
        if (entry.calls.size === 0 && this.byKey.get(key) === entry) this.byKey.delete(key);
      });
  }

  sessions(key: string): number {
    return this.byKey.get(key)?.sessions ?? 0;
  }

  busy(key: string): boolean {
    return (this.byKey.get(key)?.calls.size ?? 0) > 0;
  }

  /** Resolves when the cluster's calls in flight now have finished, or after `maxMs`. */
  settled(key: string, maxMs: number): Promise<void> {
    return settledWithin(this.byKey.get(key)?.calls ?? [], maxMs);
  }
}

export interface ClusterReleaser {
  releaseClusters(refs: ReleaseRef[], holdMs: number, settleMs: number): Promise<{ released: ReleaseRef[]; refused: Array<{ ref: ReleaseRef; reason: string }> }>;
  resume(refs: ReleaseRef[], why: string): void;
}

/** Decodes a ReleaseClustersRequest, releases (or resumes) and answers; an empty list is answered at once (peering's "do you run" check). */
export async function answerClusterRelease(msg: Msg, r: ClusterReleaser, log: Logger): Promise<void> {
  let req: peeringv1.ReleaseClustersRequest;
  try {
    req = fromBinary(peeringv1.ReleaseClustersRequestSchema, msg.data);
  } catch (err) {
    return log.warn({ err }, "undecodable ReleaseClustersRequest ignored");
  }
  const refs = req.clusters.map((c) => ({ tenantId: c.tenantId, clusterId: c.clusterId }));
  const res = create(peeringv1.ReleaseClustersResponseSchema, {});
  if (req.resume) {
    r.resume(refs, "the move was given up");
    res.released = [];
  } else if (refs.length > 0) {
    const holdMs = Math.min(MAX_HOLD_MS, req.holdMs || DEFAULT_HOLD_MS);
    const out = await r.releaseClusters(refs, holdMs, CLUSTER_SETTLE_MS);
    res.released = out.released.map((c) => create(peeringv1.ReleaseClusterRefSchema, c));
    res.refused = out.refused.map((x) => create(peeringv1.ReleaseRefusalSchema, { cluster: x.ref, reason: x.reason }));
  }
  msg.respond(toBinary(peeringv1.ReleaseClustersResponseSchema, res));
}
