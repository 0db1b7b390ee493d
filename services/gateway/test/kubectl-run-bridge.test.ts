import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { createLogger } from "@daalu/runtime";
import { KubectlBridge } from "../src/http/kubectl-run-bridge.js";

// The loopback bridge forwards a run's proxy requests to /k8s/clusters/<id>
// with the caller's Authorization, and nothing else.

let upstream: http.Server;
const seen: { url: string | undefined; headers: http.IncomingHttpHeaders }[] = [];
let bridge: KubectlBridge;

before(async () => {
  upstream = http.createServer((req, res) => {
    seen.push({ url: req.url, headers: req.headers });
    res.end("ok");
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  bridge = new KubectlBridge(() => new URL(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`), createLogger("test", "silent"));
});
after(async () => {
  await bridge.close();
  await new Promise((r) => upstream.close(r));
});

/** A raw HTTP/1.1 request to the bridge (absolute-form target, as a proxy client sends it). */
function send(proxyUrl: string, method: string, target: string, headers: Record<string, string> = {}): Promise<number> {
  const p = new URL(proxyUrl);
  const auth = p.username ? { "proxy-authorization": `Basic ${Buffer.from(`${p.username}:${p.password}`).toString("base64")}` } : {};
  return new Promise((resolve, reject) => {
    const req = http.request({ host: p.hostname, port: p.port, method, path: target, headers: { ...auth, ...headers } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}

test("a run's request reaches /k8s/clusters/<id> with the caller's authority only", async () => {
  const run = await bridge.open({ authorization: "Bearer caller", clusterId: "c1" });
  try {
    seen.length = 0;
    const status = await send(run.proxyUrl, "GET", "http://kubectl-run.invalid/api?timeout=32s", { "impersonate-user": "admin", "impersonate-group": "system:masters", authorization: "Bearer other" });
    assert.equal(status, 200);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.url, "/k8s/clusters/c1/api?timeout=32s");
    assert.equal(seen[0]!.headers.authorization, "Bearer caller");
    assert.equal(seen[0]!.headers["impersonate-user"], undefined);
    assert.equal(seen[0]!.headers["impersonate-group"], undefined);
    assert.equal(seen[0]!.headers["proxy-authorization"], undefined);
  } finally {
    run.close();
  }
});

test("nothing else is forwarded: wrong or finished secrets, other hosts, dot segments, origin-form", async () => {
  const run = await bridge.open({ authorization: "Bearer caller", clusterId: "c1" });
  const wrong = run.proxyUrl.replace(/run:[^@]+@/, "run:nope@");
  seen.length = 0;
  assert.equal(await send(wrong, "GET", "http://kubectl-run.invalid/api"), 404);
  assert.equal(await send(run.proxyUrl.replace(/run:[^@]+@/, ""), "GET", "http://kubectl-run.invalid/api"), 404);
  assert.equal(await send(run.proxyUrl, "GET", "http://evil.example/api"), 400);
  assert.equal(await send(run.proxyUrl, "GET", "http://kubectl-run.invalid/api/../../v1/clusters/c2/kubectl"), 400);
  assert.equal(await send(run.proxyUrl, "GET", "http://kubectl-run.invalid/api/%2e%2e/x"), 400);
  assert.equal(await send(run.proxyUrl, "GET", "/api"), 400);
  run.close();
  assert.equal(await send(run.proxyUrl, "GET", "http://kubectl-run.invalid/api"), 404, "a finished run's secret is dead");
  assert.deepEqual(seen, []);
});

test("CONNECT (a tunnel to anywhere) is refused, even with a live secret", async () => {
  const run = await bridge.open({ authorization: "Bearer caller", clusterId: "c1" });
  try {
    const p = new URL(run.proxyUrl);
    const auth = Buffer.from(`${p.username}:${p.password}`).toString("base64");
    const reply = await new Promise<string>((resolve, reject) => {
      const s = net.connect(Number(p.port), p.hostname, () => s.write(`CONNECT 127.0.0.1:22 HTTP/1.1\r\nhost: 127.0.0.1:22\r\nproxy-authorization: Basic ${auth}\r\n\r\n`));
      let d = "";
      s.on("data", (b) => (d += b));
      s.on("end", () => resolve(d));
      s.on("error", reject);
    });
    assert.match(reply, /^HTTP\/1\.1 405 /);
  } finally {
    run.close();
  }
});
