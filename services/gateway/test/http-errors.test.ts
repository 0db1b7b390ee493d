import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { assertProblem, gatewayHarness, http, type Res } from "./helpers.js";

// Every error the gateway answers is ours: problem+json on /v1 and the rest, a
// Kubernetes Status on /k8s, whichever layer refused the request (node's HTTP
// parser, Fastify's router and body parser, authentication, validation).
// No invite, peering or tunnel-proxy service runs here.


function assertStatus(r: Pick<Res, "status" | "type" | "body">, status: number, reason: string): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.match(r.type, /^application\/json/);
  assert.equal(r.body.kind, "Status");
  assert.equal(r.body.code, status);
  assert.equal(r.body.details?.causes?.[0]?.reason, reason, JSON.stringify(r.body));
}

/** Sends exactly `bytes` on a fresh connection and parses the one answer (the server closes or we ask it to). */
async function raw(url: string, bytes: Buffer | string): Promise<Pick<Res, "status" | "type" | "body"> & { text: string }> {
  const { hostname, port } = new URL(url);
  const text = await new Promise<string>((resolve, reject) => {
    const s = net.connect(Number(port), hostname);
    const parts: Buffer[] = [];
    s.on("data", (d) => parts.push(d));
    s.on("error", reject);
    s.on("close", () => resolve(Buffer.concat(parts).toString("latin1")));
    s.write(bytes);
  });
  const m = /^HTTP\/1\.1 (\d{3}) [^\r\n]*\r\n([\s\S]*?)\r\n\r\n([\s\S]*)$/.exec(text);
  assert.ok(m, `not an HTTP response: ${JSON.stringify(text)}`);
  const type = /^content-type: *([^\r\n]*)$/im.exec(m[2]!)?.[1] ?? "";
  const len = Number(/^content-length: *(\d+)$/im.exec(m[2]!)?.[1] ?? -1);
  assert.equal(Buffer.byteLength(m[3]!, "latin1"), len, `content-length must match the body: ${JSON.stringify(text)}`);
  return { status: Number(m[1]), type, body: JSON.parse(m[3]!), text };
}

test("a /k8s body over the limit is 413 as a Kubernetes Status, not 500", async (t) => {
  const { gw, tokens } = await gatewayHarness(t);
  const big = "x".repeat(3 * 1024 * 1024 + 1);
  for (const m of ["POST", "PUT", "PATCH"]) {
    const r = await http(gw.url, m, "/k8s/clusters/abc/api/v1/namespaces/default/configmaps", { token: tokens.admin, raw: big, contentType: "application/json" });
    assertStatus(r, 413, "BODY_TOO_LARGE");
    assert.equal(r.body.reason, "RequestEntityTooLarge");
  }
});

test("a URL Fastify cannot decode is a 400 problem (a Status on /k8s)", async (t) => {
  const { gw } = await gatewayHarness(t);
  const p = await raw(gw.url, "GET /v1/clusters/%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  assertProblem(p, 400, "INVALID_URL");
  assert.doesNotMatch(p.text, /FST_ERR/);
  const k = await raw(gw.url, "GET /k8s/clusters/abc/api/%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  assertStatus(k, 400, "INVALID_URL");
});

test("bytes node's HTTP parser refuses get a minimal 400 problem", async (t) => {
  const { gw } = await gatewayHarness(t);
  const cases: [string, Buffer][] = [
    ["NUL in the request line", Buffer.from("GET /v1/clu\0sters HTTP/1.1\r\nHost: x\r\n\r\n", "latin1")],
    ["bare CR in the request line", Buffer.from("GET /v1/clusters\r HTTP/1.1\r\nHost: x\r\n\r\n", "latin1")],
    ["bare CR ending the request line", Buffer.from("GET /v1/clusters HTTP/1.1\rHost: x\r\n\r\n", "latin1")],
    ["NUL in a header value", Buffer.from("GET /v1/clusters HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n", "latin1")],
    ["not HTTP at all", Buffer.from("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", "latin1")],
  ];
  for (const [what, bytes] of cases) {
    const r = await raw(gw.url, bytes);
    assert.equal(r.status, 400, what);
    assertProblem(r, 400, "MALFORMED_HTTP_REQUEST");
  }
});

test("a dependency that is down is a 503 whose message names no internal subject", async (t) => {
  const { gw, tokens } = await gatewayHarness(t);
  for (const path of ["/v1/clusters", "/v1/subnet", "/v1/clusters/abc/queries/nodes", "/v1/audit/calls"]) {
    const r = await http(gw.url, "GET", path, { token: tokens.viewer });
    assertProblem(r, 503, "UNAVAILABLE");
    assert.doesNotMatch(r.body.detail, /daalu\./, path);
  }
});
