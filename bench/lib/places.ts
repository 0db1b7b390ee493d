/**
 * Where the proxy bench runs its processes: the bench's own network namespace
 * (`rootPlace`) or a namespace of an e2e `Netns` (`nsPlace`). Each place
 * starts services (the spawnService contract), long-running programs, and
 * dials 127.0.0.1:<port> as seen from inside it.
 *
 * Dialing into a namespace needs no relay: a helper process inside it
 * (dial-helper.ts) connects and passes the connected socket back over its IPC
 * channel, so the load generator's bytes go through the kernel only, as on a
 * real network. Everything started here is SIGKILLed when the bench exits,
 * however it exits (Netns does the same for what runs inside namespaces).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { connect as tcpConnect, type Socket } from "node:net";
import path from "node:path";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import type { buildConnector } from "undici";
import { spawnService, type ServiceProcess } from "@daalu/testing";
import { spawnServiceIn } from "../../e2e/hub-stack.js";
import { ROOT, type NsHost } from "../../e2e/netns.js";

/** Processes this module started in the bench's namespace. */
const owned = new Set<ChildProcess>();
let hooked = false;

/**
 * Kills what this module started when the process exits, and turns SIGINT and
 * SIGTERM into an exit so every exit hook (Netns's included) runs.
 */
export function cleanUpOnExit(): void {
  if (hooked) return;
  hooked = true;
  process.once("exit", () => {
    for (const c of owned) c.kill("SIGKILL");
  });
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => process.exit(sig === "SIGINT" ? 130 : 143));
}

function own(child: ChildProcess): void {
  cleanUpOnExit();
  owned.add(child);
  child.once("exit", () => owned.delete(child));
}

export interface Place {
  /** Printed in the topology and the CPU table. */
  where: string;
  /** `services/<name>/src/main.ts` or a `.ts` entry relative to the repo root; ready on its "ready" log line. */
  service(entry: string, env: Record<string, string>): ServiceProcess;
  /** A long-running program (output drained, not kept). */
  run(cmd: string, args: string[], env?: Record<string, string>): ChildProcess;
  /** A connected TCP socket to 127.0.0.1:`port` inside this place. */
  dial(port: number): Promise<Socket>;
}

export function rootPlace(): Place {
  return {
    where: "bench netns",
    service(entry, env) {
      const s = spawnService(entry, env);
      own(s.child);
      return s;
    },
    run(cmd, args, env = {}) {
      const c = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "ignore"] });
      own(c);
      return c;
    },
    dial: (port) =>
      new Promise((resolve, reject) => {
        const s = tcpConnect(port, "127.0.0.1");
        s.once("connect", () => resolve(s));
        s.once("error", reject);
      }),
  };
}

/** A place inside one of a Netns's namespaces. */
export function nsPlace(host: NsHost, label: string): Place & { dialerPid(): number | undefined } {
  let helper: ChildProcess | undefined;
  let seq = 0;
  const waiting = new Map<number, { resolve(s: Socket): void; reject(e: Error): void }>();
  const start = () => {
    const c = spawn("ip", ["netns", "exec", host.ns, process.execPath, "--import", "tsx", path.join(ROOT, "bench/lib/dial-helper.ts")], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit", "ipc"] });
    own(c);
    c.on("message", (m: { id: number; error?: string }, sock: Socket | undefined) => {
      const w = waiting.get(m.id);
      waiting.delete(m.id);
      if (!w) return sock?.destroy();
      if (m.error || !sock) w.reject(new Error(`dial in ${host.ns}: ${m.error ?? "no socket"}`));
      else w.resolve(sock);
    });
    c.once("exit", (code) => {
      for (const w of waiting.values()) w.reject(new Error(`the dial helper in ${host.ns} exited (${code})`));
      waiting.clear();
      helper = undefined;
    });
    return c;
  };
  return {
    where: label,
    service: (entry, env) => spawnServiceIn(host, entry, env),
    run(cmd, args, env = {}) {
      const c = host.spawn(cmd, args, env);
      c.stdout?.resume();
      c.stderr?.resume();
      return c;
    },
    dial(port) {
      helper ??= start();
      const id = ++seq;
      const h = helper;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        h.send({ id, host: "127.0.0.1", port });
      });
    },
    dialerPid: () => helper?.pid,
  };
}

/**
 * A TLS connection to 127.0.0.1:`port` inside `place` (identity checked
 * against 127.0.0.1, as the certificates name it), Nagle off.
 */
export function tlsDial(place: Place, port: number, ca: string, alpn = "http/1.1"): Promise<TLSSocket> {
  return place.dial(port).then(
    (raw) =>
      new Promise<TLSSocket>((resolve, reject) => {
        raw.setNoDelay(true);
        const s = tlsConnect({ socket: raw, ca, host: "127.0.0.1", ALPNProtocols: [alpn] });
        s.once("error", reject);
        s.once("secureConnect", () => {
          s.removeListener("error", reject);
          resolve(s);
        });
      }),
  );
}

/**
 * An undici connector that opens its connections with `place.dial(port)`,
 * over TLS when `ca` is given (tlsDial). The same code for every place, so
 * the direct and the tunnel path pay the same client-side cost.
 */
export function connector(place: Place, port: number, ca?: string): buildConnector.connector {
  return (_opts, cb) => {
    const sock: Promise<Socket> = ca
      ? tlsDial(place, port, ca)
      : place.dial(port).then((raw) => {
          raw.setNoDelay(true);
          return raw;
        });
    sock.then(
      (s) => cb(null, s),
      (err: Error) => cb(err, null),
    );
  };
}

/** Resolves with the JSON fields of a process's `"msg":"ready"` log line. */
export async function readyFields(p: ServiceProcess): Promise<Record<string, unknown>> {
  await p.ready;
  const line = p.output().split("\n").find((l) => l.includes('"msg":"ready"'));
  return line ? (JSON.parse(line) as Record<string, unknown>) : {};
}
