import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPair, keyToHex } from "./keys.js";
import { parseGet, peerSetLines, setRequest } from "./uapi.js";

describe("UAPI encoding", () => {
  const a = generateKeyPair().publicKey;
  const b = generateKeyPair().publicKey;

  it("writes a peer with replace_allowed_ips, keepalive and hex key", () => {
    const lines = peerSetLines({ publicKey: a, allowedIps: ["10.0.0.2/32", "10.1.0.0/16"], endpoint: "192.0.2.1:51820", persistentKeepaliveSeconds: 25 });
    assert.deepEqual(lines, [
      `public_key=${keyToHex(a)}`,
      "replace_allowed_ips=true",
      "endpoint=192.0.2.1:51820",
      "persistent_keepalive_interval=25",
      "allowed_ip=10.0.0.2/32",
      "allowed_ip=10.1.0.0/16",
    ]);
    assert.equal(setRequest(["x=1"]), "set=1\nx=1\n\n");
  });

  it("parses a get=1 answer into peers with epoch-ms handshakes", () => {
    const body = [
      "private_key=" + "11".repeat(32),
      "listen_port=51820",
      `public_key=${keyToHex(a)}`,
      "endpoint=192.0.2.7:40000",
      "last_handshake_time_sec=1700000000",
      "last_handshake_time_nsec=250000000",
      "tx_bytes=100",
      "rx_bytes=200",
      "persistent_keepalive_interval=0",
      "allowed_ip=10.0.0.2/32",
      `public_key=${keyToHex(b)}`,
      "last_handshake_time_sec=0",
      "last_handshake_time_nsec=0",
      "tx_bytes=0",
      "rx_bytes=0",
      "persistent_keepalive_interval=5",
      "protocol_version=1",
    ];
    const { listenPort, peers } = parseGet(body);
    assert.equal(listenPort, 51820);
    assert.deepEqual(peers, [
      { publicKey: a, endpoint: "192.0.2.7:40000", allowedIps: ["10.0.0.2/32"], lastHandshakeMs: 1_700_000_000_250, rxBytes: 200, txBytes: 100, persistentKeepaliveSeconds: 0 },
      { publicKey: b, allowedIps: [], lastHandshakeMs: 0, rxBytes: 0, txBytes: 0, persistentKeepaliveSeconds: 5 },
    ]);
  });
});
