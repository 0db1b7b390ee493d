import { test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPair } from "@daalu/wireguard";
import { classifyHubResponse } from "./hub-response.js";

const config = {
  tenantId: "acme",
  clusterId: "c1",
  clusterName: "prod",
  tunnelIp: "10.77.0.2",
  subnet: "10.77.0.0/24",
  hubTunnelIp: "10.77.0.1",
  hubPublicKey: generateKeyPair().publicKey,
  hubEndpoint: "192.0.2.1:51820",
  keepaliveSeconds: 25,
};
const problem = (status: number, reason: string, detail = `${reason} detail`) => JSON.stringify({ type: "x", title: reason, status, detail, reason });

test("2xx with a valid config is done; with garbage it is a bad answer, not a retry", () => {
  const ok = classifyHubResponse(200, JSON.stringify(config));
  assert.equal(ok.kind, "ok");
  assert.equal(classifyHubResponse(200, "").kind, "bad-answer");
  assert.equal(classifyHubResponse(201, "<html>").kind, "bad-answer");
  const bad = classifyHubResponse(200, JSON.stringify({ ...config, hubPublicKey: "x" }));
  assert.equal(bad.kind, "bad-answer");
  assert.match(bad.kind === "bad-answer" ? bad.message : "", /hubPublicKey/);
});

test("final refusals stop with the hub's own message, whatever the status", () => {
  for (const [status, reason] of [[410, "TOKEN_EXPIRED"], [409, "TOKEN_ALREADY_USED"], [404, "TOKEN_UNKNOWN"], [409, "SUBNET_EXHAUSTED"], [503, "SUBNET_EXHAUSTED"]] as const) {
    assert.deepEqual(classifyHubResponse(status, problem(status, reason)), { kind: "rejected", status, reason, message: `${reason} detail` });
  }
});

test("5xx, 408, 429 and transient reasons are retried", () => {
  assert.equal(classifyHubResponse(502, "Bad Gateway").kind, "retry");
  assert.equal(classifyHubResponse(503, problem(503, "UNAVAILABLE")).kind, "retry");
  assert.equal(classifyHubResponse(429, problem(429, "RESOURCE_EXHAUSTED")).kind, "retry");
  assert.equal(classifyHubResponse(408, "").kind, "retry");
  assert.equal(classifyHubResponse(409, problem(409, "ENROLLMENT_IN_PROGRESS")).kind, "retry");
});

test("other 4xx stop: the same request cannot succeed", () => {
  assert.deepEqual(classifyHubResponse(400, problem(400, "INVALID_ARGUMENT", "token is required")), { kind: "rejected", status: 400, reason: "INVALID_ARGUMENT", message: "token is required" });
  assert.deepEqual(classifyHubResponse(404, "not here"), { kind: "rejected", status: 404, reason: "HTTP_404", message: "HTTP 404: not here" });
});
