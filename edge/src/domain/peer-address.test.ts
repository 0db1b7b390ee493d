import { test } from "node:test";
import assert from "node:assert/strict";
import { isAllowedPeer, peerHost } from "./peer-address.js";

test("peerHost reads every form grpc-js reports", () => {
  assert.equal(peerHost("10.77.0.1:43120"), "10.77.0.1");
  assert.equal(peerHost("ipv4:10.77.0.1:43120"), "10.77.0.1");
  assert.equal(peerHost("[::1]:43120"), "::1");
  assert.equal(peerHost("ipv6:[::ffff:10.77.0.1]:43120"), "10.77.0.1");
  assert.equal(peerHost("[::FFFF:10.77.0.1]:1"), "10.77.0.1");
  assert.equal(peerHost("unix:/tmp/s.sock"), undefined);
  assert.equal(peerHost(""), undefined);
});

test("only the hub's exact tunnel address is allowed", () => {
  assert.equal(isAllowedPeer("10.77.0.1:5000", "10.77.0.1"), true);
  assert.equal(isAllowedPeer("ipv6:[::ffff:10.77.0.1]:5000", "10.77.0.1"), true);
  assert.equal(isAllowedPeer("10.77.0.2:5000", "10.77.0.1"), false);
  assert.equal(isAllowedPeer("10.77.0.10:5000", "10.77.0.1"), false, "no prefix matching");
  assert.equal(isAllowedPeer("110.77.0.1:5000", "10.77.0.1"), false);
  assert.equal(isAllowedPeer("127.0.0.1:5000", "10.77.0.1"), false);
  assert.equal(isAllowedPeer("unix:/x", "10.77.0.1"), false);
});
