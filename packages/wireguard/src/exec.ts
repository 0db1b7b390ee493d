/** Runs the `ip` and `wg` tools: argv only (never a shell), secrets through stdin. */
import { spawn } from "node:child_process";
import { Code, DaaluError } from "@daalu/runtime";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], input?: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    if (input !== undefined) child.stdin!.end(input);
  });
}

/** `run`, and a WG_COMMAND_FAILED error unless it exits 0. */
export async function must(cmd: string, args: string[], input?: string): Promise<string> {
  const r = await run(cmd, args, input);
  if (r.code !== 0) {
    throw new DaaluError(Code.Internal, `${cmd} ${args.slice(0, 4).join(" ")} failed: ${r.stderr.trim() || `exit ${r.code}`}`, { reason: "WG_COMMAND_FAILED" });
  }
  return r.stdout;
}
