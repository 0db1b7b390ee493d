/**
 * The typed cluster queries (daalu.query.v1.QueryService) over NATS: the
 * server side the tunnel-proxy runs, and the client the gateway, the
 * Assistant and agents use. Callers name themselves in CallOptions.caller;
 * that caller is what the audit rows of the query's Kubernetes GETs carry.
 */
import { queryv1 } from "@daalu/proto";
import type { QueryDeps } from "./adapters/nats/queries.js";
import { natsClient, serveNats, type CallOptions, type Logger, type MethodsOf, type NatsConnection, type NatsServer, type ServiceClient } from "@daalu/runtime";
import { queryHandlers } from "./adapters/nats/queries.js";

export type QueryClient = ServiceClient<MethodsOf<typeof queryv1.QueryService>>;

/** The typed query client over NATS. */
export function queryClient(nc: NatsConnection, opts: { prefix: string; defaults?: CallOptions }): QueryClient {
  return natsClient(nc, queryv1.QueryService, opts);
}

/** Serves QueryService on daalu.query.v1.<Method> in queue group `queue`. */
export function serveQueries(nc: NatsConnection, opts: { prefix: string; queue: string; logger: Logger; getTimeoutMs?: number; edgeStatus?: QueryDeps["edgeStatus"] }): Promise<NatsServer> {
  const deps: QueryDeps = { nc, prefix: opts.prefix, ...(opts.getTimeoutMs ? { getTimeoutMs: opts.getTimeoutMs } : {}), ...(opts.edgeStatus ? { edgeStatus: opts.edgeStatus } : {}) };
  return serveNats(nc, queryv1.QueryService, queryHandlers(deps), { prefix: opts.prefix, queue: opts.queue, logger: opts.logger });
}
