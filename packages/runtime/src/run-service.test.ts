import { test } from "node:test";
import assert from "node:assert/strict";
import { parseHostPort, EnvReader } from "./config.js";
import { createLogger } from "./logger.js";
import { assemble } from "./run-service.js";

const logger = createLogger("test", "silent");

test("assemble closes what was opened, last first, and each closer even if one fails", async () => {
  const closed: string[] = [];
  const running = await assemble(logger, async (res) => {
    res.add("nats", () => closed.push("nats"));
    res.add("db", () => {
      closed.push("db");
      throw new Error("boom");
    });
    res.add("server", async () => void closed.push("server"));
    return { port: 1 };
  });
  assert.deepEqual(running.closers.map((c) => c.name), ["server", "db", "nats"]);
  await running.stop();
  await running.stop();
  assert.deepEqual(closed, ["server", "db", "nats"], "once each, in reverse order");
});

test("a start-up step that fails closes what the earlier steps opened, and the error comes through", async () => {
  const closed: string[] = [];
  await assert.rejects(
    assemble(logger, async (res) => {
      res.add("nats", () => closed.push("nats"));
      res.add("db", () => closed.push("db"));
      throw new Error("migration failed");
    }),
    /migration failed/,
  );
  assert.deepEqual(closed, ["db", "nats"]);
});

test("one host:port rule: names, IPv4, bracketed IPv6, port 0..65535", () => {
  assert.deepEqual(parseHostPort("127.0.0.1:0"), { host: "127.0.0.1", port: 0 });
  assert.deepEqual(parseHostPort("hub.example:51820"), { host: "hub.example", port: 51820 });
  assert.deepEqual(parseHostPort("[::1]:7443"), { host: "::1", port: 7443 });
  for (const bad of ["", "host", ":80", "host:", "host:65536", "::1:80", "a b:80", "host:80x", "[zz]:80"]) assert.equal(parseHostPort(bad), undefined, bad);
});

test("hostPort reports every bad address at once and knows off and port 0", () => {
  const r = new EnvReader({ A: "nohost", B: "off", C: "h:0", D: "h:0" });
  assert.equal(r.hostPort("A", "x:1"), "nohost");
  assert.equal(r.hostPort("B", "x:1", { off: true }), undefined);
  assert.equal(r.hostPort("C", "x:1"), "h:0");
  r.hostPort("D", "x:1", { portZero: false });
  r.hostPort("E");
  assert.deepEqual(r.problems, ['A must be host:port, got "nohost"', 'D must be host:port with a port from 1 to 65535, got "h:0"', "E is required"]);
});
