/**
 * RBAC widening records in peering (real PostgreSQL and NATS, through the
 * client): an admin's request (scopes checked by @daalu/rbac, the refusal's
 * reason stable), the edge's reports (older ones ignored, only a service may
 * write them), and the confirmation once a report grants everything asked.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { CallerKind } from "@daalu/proto";
import { presetRules, resolve, rulesFor } from "@daalu/rbac";
import { DaaluError } from "@daalu/runtime";
import { setup } from "@daalu/testing";
import { peeringClient } from "../src/client.js";
import { startPeering, tenantClient } from "./harness.js";

const wire = (rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>) => rules.map((r) => ({ ...r, resourceNames: [] }));

test("requested vs effective RBAC per cluster: request, reports, confirmation, refusals", { timeout: 60_000 }, async (t) => {
  const env = await setup();
  t.after(() => env.cleanup());
  const svc = await startPeering(env);
  t.after(() => svc.stop());
  const acme = tenantClient(env, "acme");
  const gateway = peeringClient(env.nc, { prefix: env.prefix, defaults: { tenantId: "acme", caller: { kind: CallerKind.SERVICE, id: "gateway" }, timeoutMs: 60_000 } });
  const id = (await acme.createCluster({ name: "edge" })).cluster!.id;

  const empty = (await acme.getClusterRbac({ clusterId: id })).rbac!;
  assert.equal(empty.clusterId, id);
  assert.equal(empty.requestedAt, undefined);
  assert.equal(empty.effectiveAt, undefined);

  await assert.rejects(acme.recordRbacRequest({ clusterId: id, scopes: ["everything"] }), (e: DaaluError) => e.reason === "RBAC_SCOPE_UNKNOWN");
  await assert.rejects(acme.recordRbacRequest({ clusterId: id, scopes: ["custom-resources:apps"] }), (e: DaaluError) => e.reason === "RBAC_SCOPE_INVALID");

  const scopes = ["configmaps", "custom-resources:cert-manager.io"];
  const req = (await acme.recordRbacRequest({ clusterId: id, scopes, customRules: wire([{ apiGroups: ["example.com"], resources: ["widgets"], verbs: ["get"] }]) })).rbac!;
  assert.deepEqual(req.requestedScopes, scopes);
  assert.equal(req.requestedBy, "user:alice");
  assert.equal(req.confirmedAt, undefined);

  // Only a service (the hub node, the gateway) writes what the edge reported.
  const now = Date.now();
  const report = (rules: ReturnType<typeof wire>, atMs: number, error = "") => ({ clusterId: id, rules, error, at: timestampFromDate(new Date(atMs)) });
  await assert.rejects(acme.recordEffectiveRbac(report(wire(presetRules("read-only")), now)), (e: DaaluError) => e.reason === "INTERNAL_CALL_ONLY");
  const before = (await gateway.recordEffectiveRbac(report(wire(presetRules("read-only")), now))).rbac!;
  assert.equal(before.effectiveRules.length, 3);
  assert.equal(before.confirmedAt, undefined);

  // The patch applied: every requested rule granted → confirmed at the report's time.
  const granted = wire([...rulesFor(resolve({ scopes })), { apiGroups: ["example.com"], resources: ["widgets"], verbs: ["get"] }]);
  const applied = (await gateway.recordEffectiveRbac(report(granted, now + 1000))).rbac!;
  assert.equal(timestampDate(applied.confirmedAt!).getTime(), now + 1000);
  // An older report does not undo it; a failed review is stored but confirms nothing.
  const stale = (await gateway.recordEffectiveRbac(report(wire(presetRules("read-only")), now + 500))).rbac!;
  assert.equal(stale.effectiveRules.length, granted.length);
  const failed = (await gateway.recordEffectiveRbac(report([], now + 2000, "HTTP 403"))).rbac!;
  assert.equal(failed.effectiveError, "HTTP 403");
  assert.ok(failed.confirmedAt, "a confirmation stays until a new request");
  // A new request clears it; a report that covers it confirms it again.
  assert.equal((await acme.recordRbacRequest({ clusterId: id, scopes: ["exec"] })).rbac!.confirmedAt, undefined);
  assert.ok((await gateway.recordEffectiveRbac(report(wire([...presetRules("read-only"), { apiGroups: [""], resources: ["pods/exec", "pods/attach", "pods/portforward"], verbs: ["create", "get"] }]), now + 3000))).rbac!.confirmedAt);

  // Another tenant's cluster does not exist.
  await assert.rejects(tenantClient(env, "globex").getClusterRbac({ clusterId: id }), (e: DaaluError) => e.reason === "CLUSTER_NOT_FOUND");
  // The record goes with the cluster.
  await acme.deleteCluster({ clusterId: id });
  await assert.rejects(acme.getClusterRbac({ clusterId: id }), (e: DaaluError) => e.reason === "CLUSTER_NOT_FOUND");
});
