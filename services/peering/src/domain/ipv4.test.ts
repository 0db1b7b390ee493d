import { test } from "node:test";
import assert from "node:assert/strict";
import {
  CidrParseError,
  classifySubnetChange,
  clusterCapacity,
  containsCidr,
  containsIp,
  formatCidr,
  formatIpv4,
  growthPrefix,
  hostRange,
  overlaps,
  parseCidr,
  parseIpv4,
  parseTenantSubnet,
} from "./ipv4.js";

const ip = (s: string) => parseIpv4(s)!;

test("IPv4 text round-trips and bad text is refused", () => {
  for (const s of ["0.0.0.0", "10.100.0.1", "255.255.255.255", "192.168.1.254"]) assert.equal(formatIpv4(ip(s)), s);
  for (const s of ["", "10.0.0", "10.0.0.0.0", "256.0.0.1", "10.0.0.01", "a.b.c.d", "10.0.0.-1", " 10.0.0.1"]) assert.equal(parseIpv4(s), undefined, s);
});

// Hubs take their address from a separate pool (PEERING_HUB_POOL), so the whole
// subnet minus network and broadcast is for clusters.
const HUB = ip("10.99.0.1");

test("a /24 holds 254 clusters: network and broadcast excluded, the hub outside", () => {
  const c = parseCidr("10.100.0.0/24");
  const r = hostRange(c)!;
  assert.equal(formatIpv4(r.first), "10.100.0.1");
  assert.equal(formatIpv4(r.last), "10.100.0.254");
  assert.equal(r.last - r.first + 1, 254);
  assert.equal(clusterCapacity(c, HUB), 254);
  // A subnet made before hub pools (hub = first host) keeps 253.
  assert.equal(clusterCapacity(c, r.first), 253);
});

test("widening /24 to /22 grows capacity to 1022", () => {
  const old = parseCidr("10.100.0.0/24");
  const wide = parseCidr("10.100.0.0/22");
  assert.equal(classifySubnetChange(old, wide), "widen");
  assert.ok(containsCidr(wide, old));
  assert.equal(clusterCapacity(wide, HUB), 1024 - 2);
  assert.equal(formatIpv4(hostRange(wide)!.last), "10.100.3.254");
  // A supernet whose network differs from the old block.
  const mid = parseCidr("10.100.4.0/24");
  assert.equal(classifySubnetChange(mid, parseCidr("10.100.0.0/21")), "widen");
  assert.equal(clusterCapacity(parseCidr("10.100.0.0/21"), HUB), 2048 - 2);
  // An old in-subnet hub still takes one address after widening.
  assert.ok(containsIp(wide, ip("10.100.0.1")));
  assert.equal(clusterCapacity(wide, ip("10.100.0.1")), 1024 - 3);
});

test("shrinking, moving and equal subnets are classified", () => {
  const c = parseCidr("10.100.0.0/22");
  assert.equal(classifySubnetChange(c, parseCidr("10.100.0.0/22")), "same");
  assert.equal(classifySubnetChange(c, parseCidr("10.100.0.0/24")), "not-supernet");
  assert.equal(classifySubnetChange(c, parseCidr("10.100.4.0/22")), "not-supernet");
  assert.equal(classifySubnetChange(c, parseCidr("10.100.8.0/21")), "not-supernet");
});

test("/30 and /29 edge cases", () => {
  const c30 = parseCidr("10.0.0.4/30");
  assert.deepEqual(hostRange(c30), { first: ip("10.0.0.5"), last: ip("10.0.0.6") });
  assert.equal(clusterCapacity(c30, HUB), 2);
  assert.equal(clusterCapacity(c30, ip("10.0.0.5")), 1);
  const c29 = parseCidr("10.0.0.8/29");
  assert.equal(clusterCapacity(c29, ip("10.0.0.9")), 5);
  assert.equal(hostRange(parseCidr("10.0.0.2/31")), undefined);
  assert.equal(clusterCapacity(parseCidr("10.0.0.2/31"), ip("10.0.0.2")), 0);
  // A hub outside the block does not take a cluster's address.
  assert.equal(clusterCapacity(c29, ip("10.0.0.1")), 6);
  // /29 is the smallest tenant subnet, /30 is refused with the limits named.
  assert.equal(formatCidr(parseTenantSubnet("10.0.0.8/29")), "10.0.0.8/29");
  assert.throws(() => parseTenantSubnet("10.0.0.4/30"), (e: Error) => e instanceof CidrParseError && /between \/16 and \/29/.test(e.message));
  assert.throws(() => parseTenantSubnet("10.0.0.0/15"), /between \/16 and \/29/);
});

test("misaligned blocks are refused with the aligned form suggested", () => {
  assert.throws(() => parseCidr("10.100.0.7/24"), (e: Error) => e instanceof CidrParseError && e.message.includes("10.100.0.0/24"));
  assert.throws(() => parseCidr("10.100.1.0/22"), /use 10\.100\.0\.0\/22/);
  assert.equal(formatCidr(parseCidr("10.100.4.0/22")), "10.100.4.0/22");
});

test("bad CIDR text is refused", () => {
  for (const s of ["", "10.0.0.0", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/08", "10.0.0/24", "300.0.0.0/8", "::1/128", "10.0.0.0/24/1", "10.0.0.0/2x",
    // Never tidied up: whitespace and newlines around or inside are refused, as are leading zeros.
    "10.1.2.0/24\n", " 10.1.2.0/24", "10.1.2.0/24 ", "10.1.2.0 /24", "10.1.2.0/ 24", "\t10.1.2.0/24", "10.1.02.0/24", "010.1.2.0/24"]) {
    assert.throws(() => parseCidr(s), CidrParseError, s);
  }
});

test("containment and overlap", () => {
  const a = parseCidr("10.100.0.0/22");
  assert.ok(containsCidr(a, parseCidr("10.100.3.0/24")));
  assert.ok(!containsCidr(a, parseCidr("10.100.4.0/24")));
  assert.ok(!containsCidr(parseCidr("10.100.0.0/24"), a));
  assert.ok(overlaps(a, parseCidr("10.100.2.0/24")));
  assert.ok(overlaps(parseCidr("10.100.2.0/24"), a));
  assert.ok(!overlaps(a, parseCidr("10.100.4.0/22")));
  assert.ok(containsIp(a, ip("10.100.3.255")) && !containsIp(a, ip("10.100.4.0")));
  // Top of the address space does not overflow.
  assert.equal(formatIpv4(hostRange(parseCidr("255.255.255.0/24"))!.last), "255.255.255.254");
});

test("growth prefix leaves room to widen but never below /16", () => {
  assert.equal(growthPrefix(24, 2), 22);
  assert.equal(growthPrefix(17, 2), 16);
  assert.equal(growthPrefix(24, 0), 24);
});
