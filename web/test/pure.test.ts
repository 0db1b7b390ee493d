// The web app's pure rules, in node: DNS-label names, relative times, the
// kubectl panel's argv, and where sign-in may send the person next.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ago, dnsLabelProblem, duration, statusTone, tunnelTone } from "../src/format.js";
import { argvOf } from "../src/command.js";
import { safeReturnTo } from "../src/return-to.js";
import { widerSubnets } from "../src/subnet.js";

test("cluster names are DNS labels, with a reason in words otherwise", () => {
  for (const ok of ["a", "prod-eu-1", "0abc", "x".repeat(63)]) assert.equal(dnsLabelProblem(ok), null, ok);
  assert.match(dnsLabelProblem("")!, /name/);
  assert.match(dnsLabelProblem("x".repeat(64))!, /63 characters \(this one has 64\)/);
  assert.match(dnsLabelProblem("Prod")!, /lower-case/);
  assert.match(dnsLabelProblem("prod_eu")!, /letters, digits and hyphens/);
  assert.match(dnsLabelProblem("prod.eu")!, /letters, digits and hyphens/);
  assert.match(dnsLabelProblem("-prod")!, /Start and end/);
  assert.match(dnsLabelProblem("prod-")!, /Start and end/);
});

test("relative times and durations", () => {
  const now = Date.parse("2026-01-01T12:00:00Z");
  assert.equal(ago(null, now), "never");
  assert.equal(ago("2026-01-01T11:59:18Z", now), "42 s ago");
  assert.equal(ago("2026-01-01T11:55:00Z", now), "5 min ago");
  assert.equal(ago("2026-01-01T09:00:00Z", now), "3 h ago");
  assert.equal(ago("2025-12-30T12:00:00Z", now), "2 d ago");
  assert.equal(ago("2026-01-01T12:00:05Z", now), "0 s ago", "a clock slightly behind the hub's never says 'in the future'");
  assert.equal(duration(12), "12 s");
  assert.equal(duration(250), "4 min 10 s");
  assert.equal(duration(3720), "1 h 02 min");
});

test("status colours; the tunnel indicator is separate from the status", () => {
  assert.equal(statusTone("connected"), "green");
  assert.equal(statusTone("awaiting_handshake"), "amber");
  assert.equal(statusTone("disconnected"), "red");
  assert.equal(statusTone("error"), "red");
  const now = Date.parse("2026-01-01T12:00:00Z");
  const c = { id: "c", name: "c", tunnelIp: "10.0.0.2", status: "error", lastHandshake: "2026-01-01T11:59:50Z", edgeVersion: null, apiReachable: false, diagnostic: "API down", createdAt: null, enrolledAt: null, statusSince: null };
  assert.equal(tunnelTone(c, now), "green", "tunnel up while the API is down");
  assert.equal(tunnelTone({ ...c, lastHandshake: "2026-01-01T11:50:00Z" }, now), "red", "no sign of life for 10 min");
});

test("the kubectl panel's command line: quotes honoured, shell features refused", () => {
  assert.deepEqual(argvOf("get pods -A"), ["get", "pods", "-A"]);
  assert.deepEqual(argvOf("kubectl get pods -n shop"), ["get", "pods", "-n", "shop"]);
  assert.deepEqual(argvOf(`get pods -l 'app in (web, api)'`), ["get", "pods", "-l", "app in (web, api)"]);
  assert.deepEqual(argvOf("get pods -o jsonpath={.items[*].metadata.name}"), ["get", "pods", "-o", "jsonpath={.items[*].metadata.name}"]);
  assert.deepEqual(argvOf("get pods $HOME"), ["get", "pods", "$HOME"], "no variable expansion");
  for (const bad of ["get pods | grep x", "get pods > out", "get pods; rm -rf /", "get pods && echo"]) assert.match(argvOf(bad) as string, /one kubectl command/, bad);
  assert.match(argvOf("  ") as string, /Type a kubectl command/);
  assert.match(argvOf("kubectl") as string, /Type a kubectl command/);
});

test("sign-in returns only to same-origin relative paths", () => {
  const o = "https://hub.example";
  assert.equal(safeReturnTo(null, o), "/clusters");
  assert.equal(safeReturnTo("/clusters/c-1/audit?x=1#y", o), "/clusters/c-1/audit?x=1#y");
  assert.equal(safeReturnTo("/v1/auth/cli/callback?state=abc", o), "/v1/auth/cli/callback?state=abc");
  for (const evil of ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "clusters", "/%5C%5Cevil.example"]) {
    const to = safeReturnTo(evil, o);
    assert.ok(to.startsWith("/") && !to.startsWith("//") && new URL(to, o).origin === o, `${evil} → ${to}`);
  }
});

test("a subnet widens to its own supernets, down to /16, with their capacity", () => {
  assert.deepEqual(widerSubnets("10.100.4.0/24").slice(0, 3), [
    { cidr: "10.100.4.0/23", capacity: 510 },
    { cidr: "10.100.4.0/22", capacity: 1022 },
    { cidr: "10.100.0.0/21", capacity: 2046 },
  ]);
  assert.deepEqual(widerSubnets("10.100.5.0/24")[0], { cidr: "10.100.4.0/23", capacity: 510 });
  assert.deepEqual(widerSubnets("10.100.4.0/24").at(-1), { cidr: "10.100.0.0/16", capacity: 65534 });
  assert.equal(widerSubnets("10.100.4.0/24").length, 8);
  assert.deepEqual(widerSubnets("10.100.0.0/16"), []);
  assert.deepEqual(widerSubnets("not a subnet"), []);
});
