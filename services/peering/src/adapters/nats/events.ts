/** Publishes ClusterEvents (core NATS) on `daalu.events.<tenant>.cluster.<kind>`. */
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { peeringv1 } from "@daalu/proto";
import { eventSubject, type Logger, type NatsConnection } from "@daalu/runtime";
import type { EdgeReleases } from "../../domain/edge-release.js";
import type { ClusterRecord, SubnetRef } from "../pg/store.js";
import { clusterToProto } from "./convert.js";

/** "cluster.enrolled", "cluster.key_replaced", ... */
export function clusterEventKind(kind: peeringv1.ClusterEventKind): string {
  return `cluster.${peeringv1.ClusterEventKind[kind].toLowerCase()}`;
}

export interface ClusterEventInput {
  kind: peeringv1.ClusterEventKind;
  cluster: ClusterRecord;
  /** clusterToProto(cluster) when the caller has built it already. */
  clusterProto?: ReturnType<typeof clusterToProto>;
  subnet?: SubnetRef | undefined;
  previousPublicKey?: string | null;
  /** HOME_CHANGED: the new home node, its claim's epoch and the node it came from. */
  home?: { node: string; epoch: number; previous: string | null; since: Date | null };
}

/** Sends cluster events; a failed publish is logged, never fails the call that already committed. */
export class ClusterEvents {
  constructor(
    private readonly nc: NatsConnection,
    private readonly prefix: string,
    private readonly logger: Logger,
    /** What each event's cluster row is judged against (clusterToProto). */
    private readonly releases: EdgeReleases,
  ) {}

  publish(e: ClusterEventInput): void {
    const msg = create(peeringv1.ClusterEventSchema, {
      tenantId: e.cluster.tenantId,
      clusterId: e.cluster.id,
      kind: e.kind,
      cluster: e.clusterProto ?? clusterToProto(e.cluster, this.releases),
      previousPublicKey: e.previousPublicKey ?? "",
      time: timestampFromDate(new Date()),
      subnet: e.subnet?.cidr ?? "",
      hubIp: e.subnet?.hubIp ?? "",
      ...(e.home ? { homeNode: e.home.node, homeEpoch: BigInt(e.home.epoch), previousHomeNode: e.home.previous ?? "", ...(e.home.since ? { homeSince: timestampFromDate(e.home.since) } : {}) } : {}),
    });
    const subject = eventSubject(this.prefix, e.cluster.tenantId, clusterEventKind(e.kind));
    try {
      this.nc.publish(subject, toBinary(peeringv1.ClusterEventSchema, msg));
    } catch (err) {
      this.logger.warn({ err, subject, clusterId: e.cluster.id }, "cluster event not published");
    }
  }
}
