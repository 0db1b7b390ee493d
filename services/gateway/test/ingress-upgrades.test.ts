import { test } from "node:test";
import assert from "node:assert/strict";
import https from "node:https";
import net, { type AddressInfo } from "node:net";
import tls from "node:tls";
import { selfSignedTls } from "@daalu/kube-double";
import { relayUpgrades } from "./ingress-upgrades.js";

// The tests' TLS terminator closes like an ingress: an upgraded connection the gateway ended ends at the client
// too, and closing the terminator does not wait for upgraded connections still open.

/** A stand-in gateway: answers any upgrade with 101 and `body`, then (with `end`) ends the connection, as a finished session does. */
async function upstream(body: string, end: boolean): Promise<{ port: number; close(): void }> {
  const socks = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    socks.add(sock);
    sock.once("data", () => {
      sock.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n${body}`);
      if (end) sock.end();
    });
    sock.on("error", () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      server.close();
      for (const s of socks) s.destroy();
    },
  };
}

async function terminator(upstreamPort: number): Promise<{ port: number; endUpgrades: () => void; closed: () => Promise<"closed" | "still open"> }> {
  const t = selfSignedTls();
  const front = https.createServer({ key: t.key, cert: t.cert });
  const endUpgrades = relayUpgrades(front, upstreamPort);
  await new Promise<void>((r) => front.listen(0, "127.0.0.1", r));
  return {
    port: (front.address() as AddressInfo).port,
    endUpgrades,
    // close() calls back only once every connection closed: bounded here so a leak fails rather than hangs.
    closed: () => {
      front.closeAllConnections();
      let timer: NodeJS.Timeout | undefined;
      return Promise.race([
        new Promise<"closed">((r) => front.close(() => r("closed"))),
        new Promise<"still open">((r) => (timer = setTimeout(() => r("still open"), 5_000))),
      ]).finally(() => clearTimeout(timer));
    },
  };
}

/** A client's upgrade through the terminator; `received` resolves with everything read once the terminator ends it. */
function client(port: number): { sock: tls.TLSSocket; received: Promise<string> } {
  const sock = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false });
  sock.write("GET /k8s/clusters/c/api/v1/namespaces/default/pods/p/portforward HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
  let text = "";
  sock.on("data", (d: Buffer) => (text += d.toString()));
  return { sock, received: new Promise((r) => sock.once("end", () => r(text))) };
}

test("an upgraded connection the gateway ends closes at the client, and the terminator then closes", { timeout: 20_000 }, async () => {
  const up = await upstream("lost connection to pod", true);
  const front = await terminator(up.port);
  try {
    const c = client(front.port);
    // kubectl answers what it reads (a WebSocket close frame, a SPDY GOAWAY) and exits once its connection ended.
    // Those bytes reach a socket whose destination closed: unread, they held back its end, and so its close.
    c.sock.once("data", () => c.sock.write(Buffer.from([0x88, 0x02, 0x03, 0xe8])));
    const gone = new Promise((r) => c.sock.once("close", r));
    assert.match(await c.received, /^HTTP\/1\.1 101 [^]*lost connection to pod$/);
    await gone;
    assert.equal(await front.closed(), "closed");
  } finally {
    front.endUpgrades();
    up.close();
  }
});

test("closing the terminator ends the upgraded connections still open", { timeout: 20_000 }, async () => {
  const up = await upstream("", false);
  const front = await terminator(up.port);
  try {
    const c = client(front.port);
    await new Promise<void>((r) => c.sock.once("data", () => r()));
    front.endUpgrades();
    assert.equal(await c.received, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
    assert.equal(await front.closed(), "closed");
    c.sock.destroy();
  } finally {
    up.close();
  }
});
