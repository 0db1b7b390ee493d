import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPair, keyToHex } from "./keys.js";
import { GetParser } from "./get-parser.js";
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

  it("parses an answer streamed in chunks of any size, split anywhere", () => {
    const keys = Array.from({ length: 5 }, () => generateKeyPair().publicKey);
    const text =
      "private_key=" + "22".repeat(32) + "\nlisten_port=4242\nfwmark=0\n" +
      keys
        .map((k, i) => `public_key=${keyToHex(k)}\npreshared_key=${"0".repeat(64)}\nprotocol_version=1\nendpoint=[2001:db8::${i}]:51820\nlast_handshake_time_sec=${1_700_000_000 + i}\nlast_handshake_time_nsec=999999999\ntx_bytes=${2 ** 40 + i}\nrx_bytes=${i}\npersistent_keepalive_interval=${i}\nallowed_ip=10.0.${i}.0/24\nallowed_ip=fd00::${i}/128\n`)
        .join("") +
      "errno=0\n\n";
    const whole = Buffer.from(text);
    const want = keys.map((k, i) => ({
      publicKey: k,
      endpoint: `[2001:db8::${i}]:51820`,
      allowedIps: [`10.0.${i}.0/24`, `fd00::${i}/128`],
      lastHandshakeMs: (1_700_000_000 + i) * 1000 + 999,
      rxBytes: i,
      txBytes: 2 ** 40 + i,
      persistentKeepaliveSeconds: i,
    }));
    for (const size of [1, 2, 7, 64, 333, whole.length]) {
      const p = new GetParser();
      let done = false;
      for (let o = 0; o < whole.length; o += size) {
        assert.equal(done, false, "complete only at the end");
        done = p.push(whole.subarray(o, o + size));
      }
      assert.equal(done, true, `chunks of ${size}`);
      assert.equal(p.errno, 0);
      assert.equal(p.listenPort, 4242);
      assert.deepEqual(p.peers, want, `chunks of ${size}`);
    }
  });

  it("reports a failed get's errno and is not complete before the blank line", () => {
    const p = new GetParser();
    assert.equal(p.push(Buffer.from("errno=-22\n")), false);
    assert.equal(p.push(Buffer.from("\n")), true);
    assert.equal(p.errno, -22);
    assert.deepEqual(p.peers, []);
  });

  it("ignores keys that only look like known ones and reads upper-case hex keys", () => {
    // GetParser tells keys by their first two bytes and where `=` is (no string per line): a key sharing the first
    // bytes but not the length must not be taken for a known one.
    const p = new GetParser();
    const body = [
      "listen_portx=1",
      "listen_port=7",
      `public_key=${keyToHex(a).toUpperCase()}`,
      "rx_bytes=3",
      "rx_bytesx=9",
      "rx_bytez=8",
      "tx_=4",
      "allowed_ips=10.9.9.9/32",
      "allowed_ip=10.0.0.9/32",
      "endpointx=1.2.3.4:5",
      "persistent_keepalive=9",
      "last_handshake_time_sec=2",
      "last_handshake_time_nsec=3000000",
      "last_handshake_time_secx=5",
      "last_handshake_time_nsex=5",
      "errnox=5",
      "pu",
      "=",
      "errno=0",
      "",
      "",
    ].join("\n");
    assert.equal(p.push(Buffer.from(body)), true);
    assert.equal(p.errno, 0);
    assert.equal(p.listenPort, 7);
    assert.deepEqual(p.peers, [{ publicKey: a, allowedIps: ["10.0.0.9/32"], lastHandshakeMs: 2003, rxBytes: 3, txBytes: 0, persistentKeepaliveSeconds: 0 }]);
  });
});
