import { test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPair } from "@daalu/wireguard";
import { create, toJson } from "@bufbuild/protobuf";
import { invitev1 } from "@daalu/proto";
import { bootstrapRequestJson, decodeTunnelSecret, encodeTunnelSecret, hubAllowedIps, hubRoute, interfaceAddress, InvalidTunnelConfig, parseTunnelConfig, splitEndpoint, type TunnelConfig } from "./tunnel-config.js";

const hub = generateKeyPair();
const keys = generateKeyPair();
const sampleConfig: TunnelConfig = {
  tenantId: "acme",
  clusterId: "0b6f3c0e-4d2a-4f7e-9a51-3c1f3f0a9d11",
  clusterName: "prod-eu",
  tunnelIp: "10.77.0.2",
  subnet: "10.77.0.0/24",
  hubTunnelIp: "10.77.0.1",
  hubPublicKey: hub.publicKey,
  hubEndpoint: "hub.example.com:51820",
  keepaliveSeconds: 25,
  hubEndpoints: [],
};

test("a valid hub answer parses; the interface gets our /32, the route and the peer only the hub /32", () => {
  const c = parseTunnelConfig({ ...sampleConfig, extra: "ignored" });
  assert.deepEqual(c, sampleConfig);
  assert.equal(interfaceAddress(c), "10.77.0.2/32");
  assert.equal(hubRoute(c), "10.77.0.1/32");
  assert.deepEqual(hubAllowedIps(c), ["10.77.0.1/32"]);
  // The hub's address from peering's own pool, outside the tenant subnet, is fine.
  assert.equal(hubRoute(parseTunnelConfig({ ...sampleConfig, hubTunnelIp: "10.99.0.1" })), "10.99.0.1/32");
});

test("every problem of a bad answer is reported at once", () => {
  try {
    parseTunnelConfig({ ...sampleConfig, tunnelIp: "10.78.0.2", hubPublicKey: "nope", hubEndpoint: "hub:0", keepaliveSeconds: 70_000, clusterName: "" });
    assert.fail("should throw");
  } catch (err) {
    assert.ok(err instanceof InvalidTunnelConfig);
    assert.deepEqual(err.problems, [
      "clusterName is missing",
      "keepaliveSeconds must be an integer 0..65535",
      "tunnelIp 10.78.0.2 is outside the subnet 10.77.0.0/24",
      "hubPublicKey is not a WireGuard key",
      'hubEndpoint "hub:0" is not host:port',
    ]);
  }
  assert.throws(() => parseTunnelConfig(null), /tenantId is missing/);
  // Types are the contract's (RedeemInviteResponse): a wrong one is refused with the field's name.
  assert.throws(() => parseTunnelConfig({ ...sampleConfig, keepaliveSeconds: -1 }), /keepalive_seconds.*out of range/);
  assert.throws(() => parseTunnelConfig({ ...sampleConfig, tunnelIp: 5 }), /tunnel_ip/);
  assert.throws(() => parseTunnelConfig({ ...sampleConfig, subnet: "10.77.0.0/33" }), /not an IPv4 CIDR/);
  assert.throws(() => parseTunnelConfig({ ...sampleConfig, hubTunnelIp: sampleConfig.tunnelIp }), /equals/);
});

test("the wire format is RedeemInviteResponse's protobuf JSON mapping, unchanged from the hand-written one", () => {
  // What the gateway writes (services/gateway/src/http/json.ts: toJson with every field present).
  const wire = toJson(invitev1.RedeemInviteResponseSchema, create(invitev1.RedeemInviteResponseSchema, sampleConfig), { alwaysEmitImplicit: true });
  // The hand-written mapper wrote exactly these fields, in this order, keepalive as a number; hubEndpoints
  // (several hub nodes) came after, additive: an older edge ignores it, a newer one reads an older Secret as [].
  assert.deepEqual(Object.keys(wire as object), ["tenantId", "clusterId", "clusterName", "tunnelIp", "subnet", "hubTunnelIp", "hubPublicKey", "hubEndpoint", "keepaliveSeconds", "hubEndpoints"]);
  assert.deepEqual(wire, { ...sampleConfig });
  assert.deepEqual(parseTunnelConfig(JSON.parse(JSON.stringify(wire))), sampleConfig);
  // proto field names are accepted too (the mapping allows both), and a numeric string for the uint32.
  const { keepaliveSeconds: _k, ...rest } = sampleConfig;
  assert.deepEqual(parseTunnelConfig({ ...rest, keepalive_seconds: "25" }), sampleConfig);
  const { hubEndpoints: _e, ...older } = sampleConfig;
  assert.deepEqual(parseTunnelConfig(older).hubEndpoints, [], "a Secret from before several hub nodes");
  assert.throws(() => parseTunnelConfig({ ...sampleConfig, hubEndpoints: ["a:1", "no-port"] }), /hubEndpoint "no-port" is not host:port/);
  assert.deepEqual(bootstrapRequestJson("dfi1_x", keys.publicKey), { token: "dfi1_x", publicKey: keys.publicKey });
});

test("endpoints split for names, IPv4 and bracketed IPv6", () => {
  assert.deepEqual(splitEndpoint("hub.example.com:51820"), { host: "hub.example.com", port: 51820 });
  assert.deepEqual(splitEndpoint("192.0.2.1:51820"), { host: "192.0.2.1", port: 51820 });
  assert.deepEqual(splitEndpoint("[2001:db8::1]:51820"), { host: "2001:db8::1", port: 51820 });
  assert.doesNotThrow(() => parseTunnelConfig({ ...sampleConfig, hubEndpoint: "[2001:db8::1]:51820" }));
});

test("the Secret round-trips in both states", () => {
  const keys = generateKeyPair();
  const pending = { state: "pending" as const, ...keys };
  assert.deepEqual(decodeTunnelSecret(encodeTunnelSecret(pending)), pending);
  const complete = { state: "complete" as const, ...keys, config: sampleConfig };
  const data = encodeTunnelSecret(complete);
  assert.deepEqual(Object.keys(data).sort(), ["private-key", "public-key", "state", "tunnel.json"]);
  assert.deepEqual(decodeTunnelSecret(data), complete);
});

test("a tampered or truncated Secret is refused with the reason", () => {
  const keys = generateKeyPair();
  const other = generateKeyPair();
  assert.throws(() => decodeTunnelSecret({ state: "pending", "private-key": keys.privateKey, "public-key": other.publicKey }), /does not belong/);
  assert.throws(() => decodeTunnelSecret({ state: "complete", "private-key": keys.privateKey, "public-key": keys.publicKey }), /tunnel.json is missing/);
  assert.throws(() => decodeTunnelSecret({ state: "complete", "private-key": keys.privateKey, "public-key": keys.publicKey, "tunnel.json": "{" }), /not JSON/);
  assert.throws(() => decodeTunnelSecret({ state: "done", "private-key": keys.privateKey, "public-key": keys.publicKey }), /must be "pending" or "complete"/);
  assert.throws(() => decodeTunnelSecret({}), /private-key is missing/);
});
