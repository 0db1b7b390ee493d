import { test } from "node:test";
import assert from "node:assert/strict";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { peeringv1 } from "@daalu/proto";
import { tunnelRefusal } from "./tunnel-state.js";

const NOW = Date.parse("2025-05-01T12:00:00Z");
const cluster = (init: MessageInitShape<typeof peeringv1.ClusterSchema>) => create(peeringv1.ClusterSchema, { id: "c1", name: "prod", tunnelIp: "10.1.0.2", ...init });

test("connected and API-error clusters may be called", () => {
  assert.equal(tunnelRefusal(cluster({ status: peeringv1.ClusterStatus.CONNECTED }), NOW), undefined);
  assert.equal(tunnelRefusal(cluster({ status: peeringv1.ClusterStatus.ERROR }), NOW), undefined);
});

test("no address or pending enrollment: not enrolled", () => {
  assert.equal(tunnelRefusal(cluster({ tunnelIp: "", status: peeringv1.ClusterStatus.PENDING_ENROLLMENT }), NOW)?.kind, "not-enrolled");
  assert.equal(tunnelRefusal(cluster({ status: peeringv1.ClusterStatus.PENDING_ENROLLMENT }), NOW)?.kind, "not-enrolled");
});

test("awaiting handshake names the cluster and the enrollment time", () => {
  const r = tunnelRefusal(cluster({ status: peeringv1.ClusterStatus.AWAITING_HANDSHAKE, enrolledAt: timestampFromMs(NOW - 60_000) }), NOW);
  assert.equal(r?.kind, "not-connected");
  assert.match(r!.message, /^cluster "prod" is awaiting its first WireGuard handshake \(no handshake yet since enrollment at 2025-05-01T11:59:00.000Z\)/);
});

test("disconnected names the last handshake and how long ago", () => {
  const r = tunnelRefusal(cluster({ status: peeringv1.ClusterStatus.DISCONNECTED, lastHandshake: timestampFromMs(NOW - 12 * 60_000) }), NOW);
  assert.equal(r?.kind, "not-connected");
  assert.match(r!.message, /is disconnected \(last handshake at 2025-05-01T11:48:00.000Z, 12 min ago\)/);
});
