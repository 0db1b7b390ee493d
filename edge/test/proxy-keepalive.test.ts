import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { create } from "@bufbuild/protobuf";
import { edgev1 } from "@daalu/proto";
import { createLogger, grpc } from "@daalu/runtime";
import { startProxyServer, type RawProxyClient } from "./helpers.js";

// An API server closes a kept-alive connection while it is idle; the edge's
// next request on it dies with ECONNRESET before any answer. Reads are sent
// again once on a new connection, writes are not (their fate is unknown).
// The upstream here plays that race deterministically: with `dropNext` set,
// the next request that arrives on a reused connection gets the connection
// destroyed instead of an answer.

let upstream: http.Server;
let proxy: Awaited<ReturnType<typeof startProxyServer>>;
let client: RawProxyClient;
const seen: string[] = [];
let dropNext = false;

before(async () => {
  upstream = http.createServer((req, res) => {
    const s = req.socket as typeof req.socket & { served?: number };
    s.served = (s.served ?? 0) + 1;
    seen.push(`${req.method} ${s.served}`);
    if (s.served > 1 && dropNext) {
      dropNext = false;
      req.socket.destroy();
      return;
    }
    req.resume();
    req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ kind: "Status", method: req.method })));
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  // Writes allowed here (the product default is GET/HEAD) to show they are never repeated.
  proxy = await startProxyServer({ apiServer: { server: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, token: "edge-proxy-token" }, methods: ["GET", "HEAD", "POST"], ownNamespace: "daalu-edge", logger: createLogger("edge", "silent") });
  client = proxy.client;
});
after(async () => {
  proxy?.close();
  upstream?.closeAllConnections();
  await new Promise((r) => upstream?.close(r));
});

async function call(method: string): Promise<{ status: number; error?: string }> {
  const s = client["proxy"]!(create(edgev1.ProxyRequestSchema, { target: "kubernetes", method, path: "/api/v1/pods", ...(method === "POST" ? { body: new TextEncoder().encode("{}") } : {}) }), new grpc.Metadata(), { deadline: Date.now() + 5_000 });
  let status = 0;
  try {
    for await (const m of s as AsyncIterable<edgev1.ProxyResponse>) if (m.frame.case === "head") status = m.frame.value.status;
    return { status };
  } catch (err) {
    return { status, error: (err as grpc.ServiceError).details };
  }
}

test("a read on a connection the server dropped is sent again on a new one", async () => {
  seen.length = 0;
  assert.deepEqual(await call("GET"), { status: 200 });
  // The same kept-alive connection is reused and dropped by the server: answered anyway.
  dropNext = true;
  assert.deepEqual(await call("GET"), { status: 200 });
  assert.deepEqual(seen, ["GET 1", "GET 2", "GET 1"], "the second read was retried once, on a fresh connection");
});

test("a write on a dropped connection is not repeated: the caller gets the error", async () => {
  seen.length = 0;
  // A read opens the connection the pool hands out first (the one dropped above is gone), then the write reuses it.
  assert.deepEqual(await call("GET"), { status: 200 });
  dropNext = true;
  const r = await call("POST");
  assert.equal(r.status, 0);
  assert.match(r.error ?? "", /API server is unreachable from the edge/);
  assert.deepEqual(seen, ["GET 1", "POST 2"], "sent exactly once");
});
