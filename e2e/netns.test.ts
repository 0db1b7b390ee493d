import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { e2eSkipReason, Netns } from "./netns.js";

const skip = e2eSkipReason();

/** Exit 0 when a TCP connection from `host` to addr:port succeeds within 1.5 s. */
const probe = (addr: string, port: number) =>
  `const s=require("net").connect(${port},"${addr}");s.on("connect",()=>process.exit(0));s.on("error",()=>process.exit(1));setTimeout(()=>process.exit(1),1500)`;

test("the harness joins edges to the hub, cuts and restores egress, forwards, and leaves nothing behind", { skip }, async () => {
  const net = await Netns.create(2);
  const names = [net.hub.ns, ...net.edges.map((e) => e.ns)];
  try {
    const [e0, e1] = net.edges as [NonNullable<(typeof net.edges)[0]>, NonNullable<(typeof net.edges)[1]>];
    const listener = net.hub.spawn(process.execPath, ["-e", `require("net").createServer(c=>c.end()).listen(7000,"${net.hub.addr}",()=>console.log("up"))`]);
    await new Promise<void>((r) => listener.stdout!.once("data", () => r()));
    await e0.exec(process.execPath, ["-e", probe(net.hub.addr, 7000)]);
    await e1.exec(process.execPath, ["-e", probe(net.hub.addr, 7000)]);
    await e0.cutEgress();
    await assert.rejects(e0.exec(process.execPath, ["-e", probe(net.hub.addr, 7000)]));
    await e0.restoreEgress();
    await e0.exec(process.execPath, ["-e", probe(net.hub.addr, 7000)]);

    const http = createServer((_req, res) => res.end("from the test process"));
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    try {
      await e1.forward(18080, { host: "127.0.0.1", port: (http.address() as { port: number }).port });
      const body = await e1.exec(process.execPath, ["-e", "fetch('http://127.0.0.1:18080').then(r=>r.text()).then(t=>process.stdout.write(t))"]);
      assert.equal(body, "from the test process");
    } finally {
      http.close();
    }
  } finally {
    await net.cleanup();
  }
  const left = execFileSync("ip", ["netns", "list"]).toString();
  for (const n of names) assert.ok(!left.includes(n), `${n} was removed`);
});
