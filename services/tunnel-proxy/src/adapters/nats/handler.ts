/**
 * The tunnel subject handler: one ProxyRequest in, a chunked stream out (see
 * stream-protocol.ts), one audit record per call.
 *
 * Audit rule (the proxy never answers a call whose record was not accepted):
 * - Unary calls: the edge's whole answer is held (up to unaryBufferBytes), the
 *   record is published and its PubAck awaited, and only then does the answer
 *   go out; no PubAck -> 503 AUDIT_UNAVAILABLE instead. Pinned by
 *   test/proxy.test.ts "audit unavailable refuses the call".
 * - Streams (watch, logs -f) and unary answers that outgrow the buffer: the
 *   stream is refused up front when the audit stream is not reachable (a cheap
 *   stream-info call), and the record is published when the stream ends,
 *   before the end frame. Pinned by "watch: one record when the stream ends".
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import type { Msg, NatsConnection } from "@nats-io/transport-node";
import { edgev1, CallerKind } from "@daalu/proto";
import type { AuditPublisher } from "@daalu/audit";
import { newCallRecord } from "@daalu/audit";
import {
  Code,
  DaaluError,
  extractTrace,
  fromGrpcError,
  grpc,
  HEADER_CALLER,
  HEADER_TENANT,
  injectTrace,
  parseCaller,
  SpanKind,
  trace,
  tracer,
  context as otelContext,
  type Logger,
} from "@daalu/runtime";
import { acceptStream, type StreamResponder } from "../../stream-responder.js";
import { isStreaming, parseOperation } from "../../domain/operation.js";
import { tunnelScope } from "../../domain/session.js";
import { EdgeUnavailableError, InvalidProxyRequestError, TenantMismatchError } from "../../errors.js";
import type { EdgeClients } from "../grpc/edge-client.js";
import type { HeadIn, ProxyResponseIn } from "../grpc/mux-decode.js";

export interface HandlerDeps {
  nc: NatsConnection;
  edges: EdgeClients;
  /** Resolves the edge's gRPC address of a tenant's cluster (throws NotFound / not connected). */
  edgeAddress(tenantId: string, clusterId: string): Promise<string>;
  audit: AuditPublisher;
  /** Throws AUDIT_UNAVAILABLE when the audit stream cannot take records now. */
  auditReady(): Promise<void>;
  unaryTimeoutMs: number;
  unaryBufferBytes: number;
  auditDeadlineMs: number;
  logger: Logger;
}

const NO_SPAN_TRACE = "00000000000000000000000000000000";

/** Handles one message on `…daalu.tunnel.v1.<tenant>.<cluster>.Proxy`. */
export async function handleProxy(deps: HandlerDeps, msg: Msg): Promise<void> {
  const t0 = Date.now();
  const { tenantId, clusterId } = tunnelScope(msg.subject);
  let res: StreamResponder;
  try {
    res = acceptStream(deps.nc, msg);
  } catch {
    return; // no reply subject: nobody to answer
  }
  const h = msg.headers;
  const carrier = { get: (k: string) => (h?.has(k) ? h.get(k) : undefined), set: () => undefined, keys: () => h?.keys() ?? [] };
  const span = tracer().startSpan("daalu.tunnel.v1/Proxy", { kind: SpanKind.SERVER, attributes: { "daalu.tenant": tenantId, "daalu.cluster": clusterId } }, extractTrace(carrier));
  const ctx = trace.setSpan(otelContext.active(), span);
  const traceId = span.spanContext().traceId !== NO_SPAN_TRACE ? span.spanContext().traceId : "";
  const caller = parseCaller(h?.get(HEADER_CALLER));

  let req: edgev1.ProxyRequest | undefined;
  /** The edge's head: its status, and its bytes as they came (forwarded as they are, never re-encoded). */
  let head: HeadIn | undefined;
  let failure: DaaluError | undefined;
  const log = deps.logger;

  const record = (status: number, error: string) =>
    newCallRecord({
      tenantId,
      clusterId,
      caller: { kind: caller.kind || CallerKind.UNSPECIFIED, id: caller.id },
      operation: req ? parseOperation(req.target, req.method, req.path) : { verb: "", path: "" },
      outcome: { statusCode: status, error, ok: status >= 200 && status < 400 && !error },
      latencyMs: Date.now() - t0,
      bytesIn: BigInt(req?.body.length ?? 0),
      bytesOut: BigInt(res.bytesOut),
      traceId,
    });
  const publish = (status: number, error: string) => deps.audit.publish(record(status, error), { deadlineMs: deps.auditDeadlineMs });

  try {
    try {
      req = fromBinary(edgev1.ProxyRequestSchema, msg.data);
    } catch (err) {
      throw new InvalidProxyRequestError((err as Error).message);
    }
    if (!req.method || !req.path.startsWith("/")) throw new InvalidProxyRequestError("method and an absolute path are required");
    // The edge gets the caller's bytes as they came (encoded once); re-encoded only when the target was left to default.
    let wire: Uint8Array = msg.data;
    if (!req.target) {
      req.target = "kubernetes";
      wire = toBinary(edgev1.ProxyRequestSchema, req);
    }
    const headerTenant = h?.get(HEADER_TENANT);
    if (headerTenant && headerTenant !== tenantId) throw new TenantMismatchError();
    const streaming = isStreaming(req.method, req.path);
    const addr = await deps.edgeAddress(tenantId, clusterId);
    if (streaming) await deps.auditReady();

    const md = () => {
      const m = new grpc.Metadata();
      m.set(HEADER_TENANT.toLowerCase(), tenantId);
      if (h?.has(HEADER_CALLER)) m.set(HEADER_CALLER.toLowerCase(), h.get(HEADER_CALLER));
      injectTrace({ get: () => undefined, set: (k, v) => m.set(k.toLowerCase(), v), keys: () => [] }, ctx);
      return m;
    };
    const call = await deps.edges.proxy(addr, wire, md, streaming ? undefined : t0 + deps.unaryTimeoutMs).catch((err: grpc.ServiceError) => {
      throw err.code === grpc.status.UNAVAILABLE ? new EdgeUnavailableError(clusterId, err.details) : fromGrpcError(err);
    });
    if (res.signal.aborted) call.cancel();
    else res.signal.addEventListener("abort", () => call.cancel(), { once: true });

    // Unary answers are held here until their record is stored; `held` is undefined once we stream.
    let held: Uint8Array[] | undefined = streaming ? undefined : [];
    let heldBytes = 0;
    const startStreaming = async () => {
      // Outgrew the buffer: from here on the stream rule applies.
      await deps.auditReady();
      res.head(head!.bytes);
      const parts = held!;
      held = undefined;
      for (const p of parts) await res.write(p);
    };

    await new Promise<void>((resolve, reject) => {
      let chain = Promise.resolve();
      // Each frame is handled in order; the gRPC stream is paused while a
      // write waits for credit, so a slow reader pushes back to the edge.
      // Never pause the call before this first read: grpc-js would then
      // take in every message unbounded (docs/architecture.md).
      call.on("data", (m: ProxyResponseIn) => {
        call.pause();
        chain = chain
          .then(async () => {
            if (m.frame.case === "head") {
              head = m.frame.value;
              if (streaming) res.head(head.bytes);
            } else if (m.frame.case === "chunk") {
              const data = m.frame.value.data;
              if (!head) throw new DaaluError(Code.Internal, "the edge sent a chunk before the head");
              if (held) {
                held.push(data);
                heldBytes += data.length;
                if (heldBytes > deps.unaryBufferBytes) await startStreaming();
              } else await res.write(data);
            }
            call.resume();
          })
          .catch((err) => {
            call.cancel();
            reject(err);
          });
      });
      call.on("end", () => void chain.then(resolve, reject));
      call.on("error", (err: grpc.ServiceError) => {
        void chain.then(() => {
          if (res.signal.aborted) reject(new DaaluError(Code.Canceled, "cancelled by the caller", { reason: "CANCELLED_BY_CALLER", httpStatus: 499 }));
          else if (err.code === grpc.status.UNAVAILABLE && !err.metadata?.get("daalu-error-reason").length && !head) reject(new EdgeUnavailableError(clusterId, err.details));
          else reject(fromGrpcError(err));
        }, reject);
      });
    });
    if (!head) throw new DaaluError(Code.Internal, "the edge ended the call without a head");

    if (held) {
      const body = held.length === 1 ? held[0]! : Buffer.concat(held);
      // Count bytes_out as what we are about to send: the record must describe the answer.
      await deps.audit.publish(newCallRecordWithBytes(record(head.status, ""), body.length), { deadlineMs: deps.auditDeadlineMs });
      if (!res.full(head.bytes, body)) {
        res.head(head.bytes);
        await res.write(body);
        res.end();
      }
    } else {
      await publish(head.status, "");
      res.end();
    }
  } catch (err) {
    failure = DaaluError.from(err);
    if (failure.code === Code.Internal || failure.code === Code.Unknown) log.error({ err: failure.cause ?? err, clusterId }, "proxy call failed");
    span.setAttribute("daalu.error.reason", failure.reason);
    const status = head && failure.reason !== "AUDIT_UNAVAILABLE" ? head.status : failure.httpStatus;
    try {
      if (failure.reason !== "AUDIT_UNAVAILABLE") await publish(status, failure.message);
      res.fail(failure);
    } catch (auditErr) {
      res.fail(auditErr);
    }
  } finally {
    span.end();
  }
}

function newCallRecordWithBytes<T extends { bytesOut: bigint }>(r: T, n: number): T {
  r.bytesOut = BigInt(n);
  return r;
}
