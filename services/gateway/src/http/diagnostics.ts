/**
 * GET /v1/clusters/:id/diagnostics — the "diagnostic blob" of a cluster's
 * tunnel: JSON an engineer can read (peer key fingerprint, endpoint, handshake
 * times, rx/tx counters, state and since, last probe, last errors). Only the
 * hub node holding the tunnel knows it, so the gateway asks it over NATS
 * (daalu.peering.v1.HubNodeService/GetDiagnostics); another tenant's cluster is
 * NOT_FOUND there. Served as an attachment so a browser downloads it.
 */
import { create, toJson } from "@bufbuild/protobuf";
import type { FastifyInstance } from "fastify";
import { peeringv1 } from "@daalu/proto";
import type { Logger, ServiceClient, MethodsOf } from "@daalu/runtime";
import type { Authenticator } from "../auth.js";
import { authenticate, inSpan } from "./route-kit.js";
import { idParam } from "./schemas.js";

export type HubNodeClient = ServiceClient<MethodsOf<typeof peeringv1.HubNodeService>>;

export interface DiagnosticsRoutesOptions {
  auth: Authenticator;
  hubNode: HubNodeClient;
  logger: Logger;
}

export async function diagnosticsPlugin(app: FastifyInstance, opts: DiagnosticsRoutesOptions): Promise<void> {
  app.get<{ Params: { id: string } }>("/v1/clusters/:id/diagnostics", { schema: { params: idParam } }, (req, reply) =>
    inSpan(req, async () => {
      const p = await authenticate(opts.auth, req);
      const res = await opts.hubNode.getDiagnostics({ clusterId: req.params.id }, { tenantId: p.tenantId, caller: p.caller });
      const body = toJson(peeringv1.ClusterDiagnosticsSchema, res.diagnostics ?? create(peeringv1.ClusterDiagnosticsSchema), { alwaysEmitImplicit: true });
      void reply.header("content-disposition", `attachment; filename="daalu-cluster-${req.params.id}-diagnostics.json"`).header("cache-control", "no-store");
      return body;
    }),
  );
}
