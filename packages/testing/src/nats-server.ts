import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "@daalu/runtime";

/**
 * A `nats-server` of one test, as a child process, for tests that must stop
 * or restart NATS without touching the shared server other tests use. With
 * JetStream its store lives in a temporary directory that survives restarts.
 */
export interface NatsServerProcess {
  url: string;
  port: number;
  storeDir: string | undefined;
  /** Stops the server (SIGTERM, or SIGKILL with `{ kill: true }`) and waits for it to exit. */
  stop(opts?: { kill?: boolean }): Promise<void>;
  /** Starts it again on the same port and store directory; resolves once it accepts connections. */
  start(): Promise<void>;
  /** stop() then start(). */
  restart(opts?: { kill?: boolean; downMs?: number }): Promise<void>;
  /** Stops it for good and removes the store directory. */
  cleanup(): Promise<void>;
}

async function waitForPort(port: number, timeoutMs: number, exited: () => boolean): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (exited()) throw new Error("nats-server exited during start-up");
    const ok = await new Promise<boolean>((resolve) => {
      const sock = tcpConnect(port, "127.0.0.1");
      sock.once("connect", () => {
        sock.destroy();
        resolve(true);
      });
      sock.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`nats-server did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts `nats-server [-js -sd <tmp>] -a 127.0.0.1 -p <free port>` (NATS_SERVER_BIN overrides the binary). */
export async function startNatsServer(opts: { jetstream?: boolean } = {}): Promise<NatsServerProcess> {
  const port = await freePort();
  const storeDir = opts.jetstream ? await mkdtemp(path.join(tmpdir(), "daalu-nats-")) : undefined;
  const args = ["-a", "127.0.0.1", "-p", String(port), ...(storeDir ? ["-js", "-sd", storeDir] : [])];
  const bin = process.env["NATS_SERVER_BIN"] ?? "nats-server";
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let log = "";

  const start = async () => {
    if (child && child.exitCode === null && child.signalCode === null) return;
    const c = spawn(bin, args, { stdio: ["ignore", "ignore", "pipe"] });
    child = c;
    c.stderr!.on("data", (b: Buffer) => {
      log = (log + b.toString()).slice(-8_000);
    });
    exited = new Promise((r) => c.once("exit", () => r()));
    try {
      await waitForPort(port, 10_000, () => c.exitCode !== null || c.signalCode !== null);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${log}`, { cause: err });
    }
  };
  const stop = async (o: { kill?: boolean } = {}) => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill(o.kill ? "SIGKILL" : "SIGTERM");
    await exited;
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    stop,
    start,
    async restart(o = {}) {
      await stop(o);
      if (o.downMs) await new Promise((r) => setTimeout(r, o.downMs));
      await start();
    },
    async cleanup() {
      await stop({ kill: true });
      if (storeDir) await rm(storeDir, { recursive: true, force: true });
    },
  };
}
