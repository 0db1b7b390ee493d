/**
 * Starting a process and waiting until it says it is ready: the one spawner
 * behind the test harness (`spawnService`), the e2e namespaces, the benches
 * and the devhub. A Node entry (`.ts` through tsx, or `.js`) or any command,
 * optionally inside a network namespace (`ip netns exec`), with a V8 CPU
 * profile per Node child when DAALU_CPU_PROF_DIR is set.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { READY_MSG } from "./run-service.js";

/** The repository root (entries are relative to it). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

/** The default readiness test: the pino line of runService (`"msg":"ready"`). */
export const isReadyLine = (line: string): boolean => line.includes(`"msg":"${READY_MSG}"`);

/**
 * `services/<name>/src/main.ts` for a service name (`compiled`: the production
 * build's `services/<name>/dist/main.js`, see scripts/build.sh), or `entry`
 * itself when it names a file.
 */
export function serviceEntry(nameOrEntry: string, compiled = false): string {
  if (/\.[cm]?[jt]s$/.test(nameOrEntry)) return nameOrEntry;
  return compiled ? `services/${nameOrEntry}/dist/main.js` : `services/${nameOrEntry}/src/main.ts`;
}

/** A compiled service or edge entry runs as the images run it: the workspaces' dist/ (export condition), source maps on. */
const COMPILED_ENTRY = /(?:^|\/)(?:services\/[^/]+|edge)\/dist\/main\.js$/;
export const COMPILED_NODE_FLAGS = ["--conditions=daalu-dist", "--enable-source-maps"];

/**
 * A service's LOG_LEVEL as its spawner may set it: readiness is an info line,
 * so a spawned service never logs below info (trace and debug stay).
 */
export function spawnedLogLevel(level: string | undefined): string {
  return level === "trace" || level === "debug" ? level : "info";
}

export interface SpawnOptions {
  /** Names the process in errors and output lines. */
  name: string;
  /** A Node entry, absolute or relative to the repository root: `.ts` runs through tsx, a compiled `dist/main.js` with COMPILED_NODE_FLAGS. */
  entry?: string;
  /** Or a command to run as it is (e.g. nats-server); `entry` wins when both are set. */
  command?: string;
  args?: string[];
  /** Added to `baseEnv`. */
  env?: Record<string, string | undefined>;
  /** What `env` is added to (default process.env). */
  baseEnv?: Record<string, string | undefined>;
  cwd?: string;
  /** Run inside this network namespace (`ip netns exec <netns> …`). */
  netns?: string;
  /** Called with the child as soon as it exists (e.g. a namespace's cleanup list). */
  track?: (child: ChildProcess) => void;
  /** A V8 CPU profile of a Node child is written here when it exits (default: DAALU_CPU_PROF_DIR). */
  cpuProfDir?: string;
  /** Marks the child ready (default: the `"msg":"ready"` log line). */
  readyWhen?: (line: string) => boolean;
  /** `ready` rejects (with the output's tail) when the child is not ready by then (default 120 s). */
  readyTimeoutMs?: number;
  /** Every output line, as it arrives (stdout and stderr). */
  onLine?: (line: string) => void;
  /** Keep the whole output for output() (default true; the devhub keeps only the tail). */
  keepOutput?: boolean;
  /** Own process group, so a terminal's Ctrl-C reaches only the parent (the devhub stops children in order). */
  detached?: boolean;
}

export interface SpawnedProcess {
  name: string;
  child: ChildProcess;
  /** Resolves with the ready line (parsed when it is JSON); rejects when the child exits, fails to start or times out first. */
  ready: Promise<Record<string, unknown>>;
  /** Everything the child printed (stdout and stderr), or its tail with keepOutput: false. */
  output(): string;
  /** The last lines of output, for error reports. */
  tail(): string;
  /** Resolves with the exit code (null when a signal ended it). */
  exited: Promise<number | null>;
  /** SIGKILL, like a crash; resolves on exit. */
  kill(): Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs` (default 15 s) so a wedged drain cannot hang the caller; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

const TAIL_LINES = 60;
export const DEFAULT_READY_TIMEOUT_MS = 120_000;

/** Children still running: SIGKILLed if this process exits without stopping them. */
const live = new Set<ChildProcess>();
let exitHooked = false;
function killWithParent(child: ChildProcess): void {
  if (!exitHooked) {
    exitHooked = true;
    process.once("exit", () => {
      for (const c of live) c.kill("SIGKILL");
    });
  }
  live.add(child);
  child.once("exit", () => live.delete(child));
}

export function spawnProcess(o: SpawnOptions): SpawnedProcess {
  let cmd: string;
  let args: string[];
  if (o.entry) {
    const file = path.resolve(REPO_ROOT, o.entry);
    const prof = o.cpuProfDir ?? process.env["DAALU_CPU_PROF_DIR"];
    cmd = process.execPath;
    args = [...(prof ? ["--cpu-prof", `--cpu-prof-dir=${prof}`] : []), ...(file.endsWith(".ts") ? ["--import", "tsx"] : COMPILED_ENTRY.test(file) ? COMPILED_NODE_FLAGS : []), file, ...(o.args ?? [])];
  } else if (o.command) {
    cmd = o.command;
    args = o.args ?? [];
  } else throw new Error(`spawnProcess ${o.name}: give an entry or a command`);
  if (o.netns) {
    args = ["netns", "exec", o.netns, cmd, ...args];
    cmd = "ip";
  }
  const child = spawn(cmd, args, { cwd: o.cwd ?? REPO_ROOT, env: { ...(o.baseEnv ?? process.env), ...o.env }, stdio: ["ignore", "pipe", "pipe"], detached: o.detached ?? false });
  killWithParent(child);
  o.track?.(child);

  const keep = o.keepOutput ?? true;
  let out = "";
  const tail: string[] = [];
  const isReady = o.readyWhen ?? isReadyLine;
  let settled = false;
  let resolveReady!: (r: Record<string, unknown>) => void;
  let rejectReady!: (e: Error) => void;
  const ready = new Promise<Record<string, unknown>>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  ready.catch(() => undefined);
  const fail = (why: string) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    rejectReady(new Error(`${o.name} ${why}:\n${tail.join("\n")}`));
  };
  const timeoutMs = o.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  const timer = setTimeout(() => fail(`was not ready within ${timeoutMs} ms`), timeoutMs);
  timer.unref();

  const onLine = (line: string) => {
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    o.onLine?.(line);
    if (!settled && isReady(line)) {
      settled = true;
      clearTimeout(timer);
      let rec: Record<string, unknown> = {};
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        // not JSON (nats-server): the line itself is enough
      }
      resolveReady(rec);
    }
  };
  for (const stream of [child.stdout!, child.stderr!]) {
    let buf = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      if (keep) out += chunk;
      buf += chunk;
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        onLine(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
    stream.on("end", () => buf && onLine(buf));
  }
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code, signal) => {
      // Let the last output lines arrive before the error quotes them.
      setImmediate(() => fail(`exited (${signal ?? code}) before it was ready`));
      resolve(code);
    });
    child.once("error", (err) => {
      fail(`could not start: ${err.message}`);
      if (child.pid === undefined) resolve(null);
    });
  });
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    name: o.name,
    child,
    ready,
    output: () => (keep ? out : tail.join("\n")),
    tail: () => tail.join("\n"),
    exited,
    async kill() {
      if (running()) child.kill("SIGKILL");
      return exited;
    },
    async stop(graceMs = 15_000) {
      if (!running()) return exited;
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), graceMs);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}
