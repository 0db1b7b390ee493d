/**
 * Runs the built `daalu` bin as a user would: `node dist/daalu.js ARGS` in a
 * child process with its own config file, asynchronously (the hub under test
 * runs in the test's own process and must keep answering).
 */
import { execFileSync, spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const BIN = path.join(ROOT, "dist", "daalu.js");

/** Builds dist/daalu.js from src/ (what `npm run build -w @daalu/cli` does). */
export function buildBin(): void {
  execFileSync(process.execPath, [path.join(ROOT, "scripts", "build.mjs")], { stdio: "inherit" });
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** The environment over a clean one (PATH, HOME; DAALU_* and NO_COLOR as given). */
  env?: Record<string, string>;
  input?: string;
  /** Write `input` only once stdout matches this (a prompt on a terminal), not at once. */
  inputAfter?: RegExp;
  timeoutMs?: number;
  /** Called with all of stderr so far each time more arrives. */
  onStderr?: (all: string) => void;
}

const quote = (a: string) => `'${a.replaceAll("'", "'\\''")}'`;

/**
 * daalu on a terminal: util-linux `script` gives it a pseudo-terminal for
 * stdin, stdout and stderr (both land in stdout), and passes its exit code on.
 */
export function daaluOnTty(args: string[], o: CliOptions = {}): Promise<CliRun> {
  return run("script", ["-qec", [process.execPath, BIN, ...args].map(quote).join(" "), "/dev/null"], { ...o, env: { TERM: "xterm-256color", ...o.env } });
}

export function daalu(args: string[], o: CliOptions = {}): Promise<CliRun> {
  return run(process.execPath, [BIN, ...args], o);
}

function run(cmd: string, args: string[], o: CliOptions): Promise<CliRun> {
  const child = spawn(cmd, args, {
    env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: process.env["HOME"] ?? "/root", ...o.env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let sent = false;
  const send = () => {
    sent = true;
    child.stdin.end(o.input ?? "");
  };
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    stdout += d;
    if (!sent && o.inputAfter?.test(stdout)) send();
  });
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
    o.onStderr?.(stderr);
  });
  if (!o.inputAfter) send();
  const timer = setTimeout(() => child.kill("SIGKILL"), o.timeoutMs ?? 60_000);
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Starts `daalu login --hub HUB --no-browser` with `config`; `url` resolves
 * with the authorize URL it prints (rejects if the login ends first).
 */
export function startBrowserLogin(hub: string, config: string, extra: string[] = []): { url: Promise<string>; run: Promise<CliRun> } {
  let found!: (u: string) => void;
  const printed = new Promise<string>((r) => (found = r));
  const run = daalu(["login", "--hub", hub, "--no-browser", ...extra], {
    env: { DAALU_CONFIG: config, NO_COLOR: "1" },
    onStderr: (all) => {
      const m = /(http:\/\/\S+\/v1\/auth\/cli\/authorize\?\S+)/.exec(all);
      if (m) found(m[1]!);
    },
  });
  const url = Promise.race([printed, run.then((r) => Promise.reject(new Error(`login ended first: ${r.code} ${r.stderr}`)))]);
  url.catch(() => undefined); // a caller that only awaits `run` leaves it unobserved
  return { url, run };
}
