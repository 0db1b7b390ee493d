import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createServer, type Server } from "node:http";
import { e2eSkipReason, Netns, type NsHost } from "./netns.js";

const skip = e2eSkipReason();

/** Exit 0 when a TCP connection from `host` to addr:port succeeds within 1.5 s. */
const probe = (addr: string, port: number) =>
  `const s=require("net").connect(${port},"${addr}");s.on("connect",()=>process.exit(0));s.on("error",()=>process.exit(1));setTimeout(()=>process.exit(1),1500)`;

/** A TCP server on port 7000 of `host`'s underlay address; resolves once it listens. */
function listen(host: NsHost): Promise<void> {
  const l = host.spawn(process.execPath, ["-e", `require("net").createServer(c=>c.end()).listen(7000,"${host.addr}",()=>console.log("up"))`]);
  return new Promise<void>((r) => l.stdout!.once("data", () => r()));
}

/** Serves "`body`" over http on the test's loopback and makes it 127.0.0.1:18080 inside `host`; returns the server. */
async function forwarded(host: NsHost, body: string): Promise<Server> {
  const http = createServer((_req, res) => res.end(body));
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  await host.forward(18080, { host: "127.0.0.1", port: (http.address() as { port: number }).port });
  return http;
}

/** Runs `body`, cleans the network up whatever happens, then checks every namespace of it is gone. */
async function inNet(net: Netns, body: (net: Netns) => Promise<void>): Promise<void> {
  const names = [...net.namespaces];
  try {
    await body(net);
  } finally {
    await net.cleanup();
  }
  const left = execFileSync("ip", ["netns", "list"]).toString();
  for (const n of names) assert.ok(!left.includes(n), `${n} was removed`);
}

const fetchForwarded = (host: NsHost) => host.exec(process.execPath, ["-e", "fetch('http://127.0.0.1:18080').then(r=>r.text()).then(t=>process.stdout.write(t))"]);

test("the harness joins edges to the hub, cuts and restores egress, forwards, and leaves nothing behind", { skip }, async () => {
  await inNet(await Netns.create(2), async (net) => {
    const [e0, e1] = net.edges as [NonNullable<(typeof net.edges)[0]>, NonNullable<(typeof net.edges)[1]>];
    await listen(net.hub);
    await e0.exec(process.execPath, ["-e", probe(net.hub.addr, 7000)]);
    await e1.exec(process.execPath, ["-e", probe(net.hub.addr, 7000)]);
    await e0.cutEgress();
    await assert.rejects(e0.exec(process.execPath, ["-e", probe(net.hub.addr, 7000)]));
    await e0.restoreEgress();
    await e0.exec(process.execPath, ["-e", probe(net.hub.addr, 7000)]);

    const http = await forwarded(e1, "from the test process");
    try {
      assert.equal(await fetchForwarded(e1), "from the test process");
    } finally {
      http.close();
    }
  });
});

test("K hub nodes on the lan: each reachable on its own address; one cut off or killed leaves the others, and comes back", { skip }, async () => {
  await inNet(await Netns.create(1, { hubs: 3 }), async (net) => {
    const [e0] = net.edges as [NonNullable<(typeof net.edges)[0]>];
    assert.deepEqual(
      net.hubs.map((h) => h.addr),
      ["192.0.2.1", "192.0.2.2", "192.0.2.3"],
    );
    assert.equal(net.hub, net.hubs[0], "net.hub is node 0");
    await Promise.all(net.hubs.map(listen));
    for (const h of net.hubs) await e0.exec(process.execPath, ["-e", probe(h.addr, 7000)]);
    // Hubs see each other too (one underlay).
    await net.hubs[1]!.exec(process.execPath, ["-e", probe(net.hubs[2]!.addr, 7000)]);

    // Node 0's link cut: it is gone, the others stay.
    await net.hubs[0]!.cutEgress();
    await assert.rejects(e0.exec(process.execPath, ["-e", probe(net.hubs[0]!.addr, 7000)]));
    await e0.exec(process.execPath, ["-e", probe(net.hubs[1]!.addr, 7000)]);
    await net.hubs[0]!.restoreEgress();
    await e0.exec(process.execPath, ["-e", probe(net.hubs[0]!.addr, 7000)]);

    // Node 1's processes SIGKILLed: its listener is gone, its relay survives, node 2 is untouched.
    const http = await forwarded(net.hubs[1]!, "relayed");
    try {
      const killed = await net.hubs[1]!.killProcesses();
      assert.equal(killed.length, 1, `only the listener was killed (${killed.join(" ")})`);
      await assert.rejects(e0.exec(process.execPath, ["-e", probe(net.hubs[1]!.addr, 7000)]));
      await e0.exec(process.execPath, ["-e", probe(net.hubs[2]!.addr, 7000)]);
      assert.equal(await fetchForwarded(net.hubs[1]!), "relayed", "the relay outlived the kill");
      await listen(net.hubs[1]!);
      await e0.exec(process.execPath, ["-e", probe(net.hubs[1]!.addr, 7000)]);
    } finally {
      http.close();
    }
  });
});
