import { test } from "node:test";
import assert from "node:assert/strict";
import { BlockList, isIPv4 as netIsIPv4 } from "node:net";
import { ipv4InSubnet, isIPv4 } from "./ipv4.js";

test("isIPv4 agrees with node:net on addresses and near-misses", () => {
  const cases = ["0.0.0.0", "10.0.0.1", "255.255.255.255", "192.168.1.10", "256.1.1.1", "01.2.3.4", "1.2.3", "1.2.3.4.5", "1.2.3.4 ", "", "::1", "a.b.c.d", "1..2.3", "100.64.0.1", "1.2.3.04"];
  for (const s of cases) assert.equal(isIPv4(s), netIsIPv4(s), JSON.stringify(s));
});

test("ipv4InSubnet agrees with node:net's BlockList", () => {
  const subnets: Array<[string, number]> = [["10.0.0.0", 8], ["100.64.3.0", 24], ["192.168.1.128", 25], ["0.0.0.0", 0], ["10.1.2.3", 32]];
  const ips = ["10.0.0.1", "10.255.255.255", "11.0.0.0", "100.64.3.7", "100.64.4.7", "192.168.1.127", "192.168.1.200", "10.1.2.3", "10.1.2.4"];
  for (const [network, prefix] of subnets) {
    const bl = new BlockList();
    bl.addSubnet(network, prefix, "ipv4");
    for (const ip of ips) assert.equal(ipv4InSubnet(ip, network, prefix), bl.check(ip, "ipv4"), `${ip} in ${network}/${prefix}`);
  }
});

test("ipv4InSubnet is false for anything that is not IPv4 or a valid prefix", () => {
  assert.equal(ipv4InSubnet("::1", "10.0.0.0", 8), false);
  assert.equal(ipv4InSubnet("10.0.0.1", "nope", 8), false);
  assert.equal(ipv4InSubnet("10.0.0.1", "10.0.0.0", 33), false);
  assert.equal(ipv4InSubnet("10.0.0.1", "10.0.0.0", -1), false);
});
