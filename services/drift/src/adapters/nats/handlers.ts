import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { driftv1 } from "@daalu/proto";
import { formatCaller, requireTenant, type MethodsOf, type ServiceImpl } from "@daalu/runtime";
import { parseBundle, type BundleLimits } from "../../domain/bundle.js";
import { DesiredStateInvalidError, DesiredStateNotFoundError } from "../../errors.js";
import type { BundleStore, StoredBundle } from "../pg/store.js";

export type DriftMethods = MethodsOf<typeof driftv1.DriftService>;

function toBundle(b: StoredBundle) {
  return { clusterId: b.clusterId, version: b.version, digest: b.digest, objectCount: b.objectCount, sizeBytes: b.sizeBytes, uploadedBy: b.uploadedBy, uploadedAt: timestampFromDate(b.uploadedAt) };
}

/** DriftService over the bundle store (served on NATS and gRPC alike). */
export function driftHandlers(store: BundleStore, limits: BundleLimits): ServiceImpl<DriftMethods> {
  return {
    async putDesiredState(req, ctx) {
      const tenant = requireTenant(ctx);
      const parsed = parseBundle(req.yaml, limits);
      if (!parsed.ok) throw new DesiredStateInvalidError(parsed.problems);
      const { bundle, created } = await store.put(tenant, req.clusterId, parsed.objects, formatCaller(ctx.caller));
      ctx.logger.info({ clusterId: req.clusterId, version: bundle.version, objects: bundle.objectCount, created }, "desired state uploaded");
      return { bundle: toBundle(bundle), created };
    },
    async getDesiredState(req, ctx) {
      const tenant = requireTenant(ctx);
      const version = req.version > 0 ? req.version : undefined;
      const found = await store.objects(tenant, req.clusterId, version);
      const meta = found ? await store.version(tenant, req.clusterId, found.version) : undefined;
      if (!found || !meta) throw new DesiredStateNotFoundError(req.clusterId, version);
      return {
        bundle: toBundle(meta),
        objects: found.objects.map((o) => ({ apiVersion: o.apiVersion, kind: o.kind, namespace: o.namespace, name: o.name, document: o.document, line: o.line })),
      };
    },
  };
}
