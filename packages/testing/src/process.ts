import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

/** A service running as its own process (as in production), for kill/restart tests. */
export interface ServiceProcess {
  child: ChildProcess;
  /** Resolves when the process logs `ready` (the "serving" line every main.ts prints). */
  ready: Promise<void>;
  output(): string;
  /** SIGKILL, like a crash. */
  kill(): Promise<void>;
  /** SIGTERM, waits for exit; returns the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Spawns `services/<name>/src/main.ts` (or any entry relative to the repo root)
 * with tsx. Readiness is the JSON log line with `"msg":"ready"`.
 */
export function spawnService(entry: string, env: Record<string, string>): ServiceProcess {
  const file = entry.endsWith(".ts") ? path.join(ROOT, entry) : path.join(ROOT, "services", entry, "src/main.ts");
  // Readiness is an info line, so a child never logs below info; its output is
  // only buffered (see output()), never printed, so this adds no noise.
  const level = ["trace", "debug"].includes(env["LOG_LEVEL"] ?? "") ? env["LOG_LEVEL"]! : "info";
  // DAALU_CPU_PROF_DIR=dir writes a V8 CPU profile per child on exit (benches).
  const prof = process.env["DAALU_CPU_PROF_DIR"];
  const profArgs = prof ? ["--cpu-prof", `--cpu-prof-dir=${prof}`] : [];
  const child = spawn(process.execPath, [...profArgs, "--import", "tsx", file], {
    cwd: ROOT,
    env: { ...process.env, ...env, LOG_LEVEL: level },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (b: Buffer) => {
      out += b.toString();
      if (out.includes('"msg":"ready"')) resolve();
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (b: Buffer) => (out += b.toString()));
    child.once("exit", (code) => reject(new Error(`${entry} exited (${code}) before ready:\n${out.slice(-4000)}`)));
  });
  ready.catch(() => undefined);
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return {
    child,
    ready,
    output: () => out,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}
