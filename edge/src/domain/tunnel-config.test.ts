import { test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPair } from "@daalu/wireguard";
import { decodeTunnelSecret, encodeTunnelSecret, hubAllowedIps, hubRoute, interfaceAddress, InvalidTunnelConfig, parseTunnelConfig, splitEndpoint, type TunnelConfig } from "./tunnel-config.js";

const hub = generateKeyPair();
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
    parseTunnelConfig({ ...sampleConfig, tunnelIp: "10.78.0.2", hubPublicKey: "nope", hubEndpoint: "hub:0", keepaliveSeconds: -1, clusterName: "" });
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
  assert.throws(() => parseTunnelConfig({ ...sampleConfig, subnet: "10.77.0.0/33" }), /not an IPv4 CIDR/);
  assert.throws(() => parseTunnelConfig({ ...sampleConfig, hubTunnelIp: sampleConfig.tunnelIp }), /equals/);
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
