import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, connect, type Socket } from "node:net";
import { once } from "node:events";
import { endWithin } from "./socket-end.js";

/** A connected pair: the server's socket (the gateway's side) and a client that reads but never ends its side. */
async function pair(t: { after(fn: () => unknown): void }, allowHalfOpen: boolean): Promise<{ server: Socket; client: Socket }> {
  const srv = createServer();
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const accepted = once(srv, "connection");
  // allowHalfOpen: the client does not answer our FIN with its own, like a stuck client.
  const client = connect({ port: (srv.address() as { port: number }).port, host: "127.0.0.1", allowHalfOpen });
  client.setEncoding("utf8");
  client.on("error", () => undefined);
  const [server] = (await accepted) as [Socket];
  t.after(() => {
    client.destroy();
    server.destroy();
    srv.close();
  });
  return { server, client };
}

test("an ended socket whose client never closes its side is destroyed after the grace, its last bytes delivered first", async (t) => {
  const { server, client } = await pair(t, true);
  let got = "";
  client.on("data", (d: string) => (got += d));
  const t0 = Date.now();
  endWithin(server, 200, "bye\n");
  const ended = once(client, "end");
  await once(server, "close", { signal: AbortSignal.timeout(5_000) });
  assert.ok(Date.now() - t0 >= 190, `destroyed only after the grace (${Date.now() - t0} ms)`);
  await ended;
  assert.equal(got, "bye\n");
});

test("a client that closes at once leaves no timer behind and is not cut short", async (t) => {
  const { server, client } = await pair(t, false);
  let got = "";
  client.on("data", (d: string) => (got += d));
  endWithin(server, 60_000);
  // The default client answers our FIN with its own: the socket closes long before the grace, and the unref'd,
  // cleared timer keeps nothing alive (the test would otherwise run for a minute).
  await once(server, "close", { signal: AbortSignal.timeout(5_000) });
  assert.equal(server.destroyed, true);
  assert.equal(got, "");
});
