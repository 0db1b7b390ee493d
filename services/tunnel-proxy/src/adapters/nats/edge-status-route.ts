/**
 * GetEdgeStatus with several hub nodes. Typed queries are served by any
 * tunnel-proxy (one queue group), but only the cluster's home node reaches its
 * edge: from any other node the packets find no endpoint, or worse, make the
 * edge roam to that node. So a query taken on another node asks the home node
 * on the cluster's own tunnel subject `…<tenant>.<cluster>.EdgeStatus`, which
 * HomeRouting subscribes on the home node beside Proxy and Session. Nobody
 * serving it is the short window of a move: 503 CLUSTER_MOVING, as for calls.
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { edgev1 } from "@daalu/proto";
import { DaaluError, errorFromHeaders, errorHeaders, HEADER_DEADLINE, tunnelSubject, type Logger, type NatsConnection } from "@daalu/runtime";
import { EdgeUnavailableError } from "../../errors.js";
import { noResponderError } from "../../no-responder.js";
import type { TunnelHandler } from "./home-routing.js";

/** The edge's own status (EdgeService.GetStatus) through the tunnel, by the deadline (epoch ms). */
export type EdgeStatusFn = (tenantId: string, clusterId: string, deadline: number) => Promise<edgev1.GetStatusResponse>;

/** The tunnel method HomeRouting serves for GetEdgeStatus. */
export const EDGE_STATUS_METHOD = "EdgeStatus";

/** Used when a forwarded request carries no deadline (not one of ours). */
const DEFAULT_FORWARD_MS = 5_000;

function isNoResponders(err: unknown): boolean {
  const e = err as { name?: string; isNoResponders?: () => boolean } | undefined;
  return e?.name === "NoRespondersError" || e?.isNoResponders?.() === true;
}

/** The home node's side: tenant and cluster come from the subject (`…<tenant>.<cluster>.EdgeStatus`), the deadline from its header. */
export function edgeStatusHandler(local: EdgeStatusFn, logger: Logger): TunnelHandler {
  return (err, msg) => {
    if (err) return logger.warn({ err }, "edge status subscription error");
    const parts = msg.subject.split(".");
    const [tenantId, clusterId] = [parts.at(-3)!, parts.at(-2)!];
    const deadline = Number(msg.headers?.get(HEADER_DEADLINE)) || Date.now() + DEFAULT_FORWARD_MS;
    local(tenantId, clusterId, deadline).then(
      (r) => msg.respond(toBinary(edgev1.GetStatusResponseSchema, r)),
      (e: unknown) => msg.respond(new Uint8Array(0), { headers: errorHeaders(DaaluError.from(e)) }),
    );
  };
}

/**
 * GetEdgeStatus as the query service asks it: here when this node carries the
 * cluster (`homedHere` true) or there is only one node (`homedHere` undefined);
 * otherwise from the home node over NATS.
 */
export function routedEdgeStatus(nc: NatsConnection, prefix: string, local: EdgeStatusFn, homedHere: (tenantId: string, clusterId: string) => boolean | undefined): EdgeStatusFn {
  return async (tenantId, clusterId, deadline) => {
    if (homedHere(tenantId, clusterId) !== false) return local(tenantId, clusterId, deadline);
    const subject = tunnelSubject(prefix, tenantId, clusterId, EDGE_STATUS_METHOD);
    const h = natsHeaders();
    h.set(HEADER_DEADLINE, String(deadline));
    let answer;
    try {
      answer = await nc.request(subject, new Uint8Array(0), { timeout: Math.max(1, deadline - Date.now()), headers: h });
    } catch (err) {
      if (isNoResponders(err)) throw await noResponderError(nc, subject);
      throw new EdgeUnavailableError(clusterId, "its home hub node did not answer in time", err);
    }
    const failed = errorFromHeaders(answer.headers);
    if (failed) throw failed;
    return fromBinary(edgev1.GetStatusResponseSchema, answer.data);
  };
}
