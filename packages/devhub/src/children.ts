import { spawn, type ChildProcess } from "node:child_process";

/** Children still running; killed if the devhub itself exits without stopping them. */
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const c of live) {
    try {
      c.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
});

/** A child process of the hub whose output lines are prefixed with its name. */
export interface Child {
  name: string;
  process: ChildProcess;
  /** Resolves with the child's "ready" log record (services) once it is printed. */
  ready: Promise<Record<string, unknown>>;
  /** The last lines of output, for error reports. */
  tail(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves on exit. */
  stop(graceMs?: number): Promise<void>;
}

export type LineSink = (name: string, line: string) => void;

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string | undefined>;
  cwd: string;
  output: LineSink;
  /** Predicate on each output line that marks the child as ready; defaults to a pino `"msg":"ready"` line. */
  readyWhen?: (line: string) => boolean;
}

const TAIL_LINES = 60;

export function spawnChild(o: SpawnOptions): Child {
  // Each child in its own process group: Ctrl-C in the terminal reaches only the
  // devhub, which then stops the services in order before NATS and PostgreSQL
  // (a service whose database vanished mid-drain could hang and be orphaned).
  const child = spawn(o.command, o.args, { cwd: o.cwd, env: o.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  live.add(child);
  child.once("exit", () => live.delete(child));
  const tail: string[] = [];
  let readyResolve!: (v: Record<string, unknown>) => void;
  let readyReject!: (e: Error) => void;
  let isReady = false;
  const ready = new Promise<Record<string, unknown>>((res, rej) => {
    readyResolve = res;
    readyReject = rej;
  });
  ready.catch(() => undefined);
  const isReadyLine = o.readyWhen ?? ((l: string) => l.includes('"msg":"ready"'));
  const onLine = (line: string) => {
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    o.output(o.name, line);
    if (!isReady && isReadyLine(line)) {
      isReady = true;
      let rec: Record<string, unknown> = {};
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        // not JSON (nats-server): the line itself is enough
      }
      readyResolve(rec);
    }
  };
  for (const stream of [child.stdout!, child.stderr!]) {
    let buf = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      buf += chunk;
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        onLine(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
    stream.on("end", () => buf && onLine(buf));
  }
  const exited = new Promise<void>((resolve) =>
    child.once("exit", (code, signal) => {
      if (!isReady) readyReject(new Error(`${o.name} exited (${signal ?? code}) before it was ready:\n${tail.join("\n")}`));
      resolve();
    }),
  );
  child.once("error", (err) => readyReject(new Error(`${o.name} could not start: ${err.message}`)));
  return {
    name: o.name,
    process: child,
    ready,
    tail: () => tail.join("\n"),
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
}
