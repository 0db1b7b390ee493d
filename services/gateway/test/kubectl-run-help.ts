/**
 * What the installed kubectl says about its own flags: `kubectl options` and
 * `kubectl <verb> --help`, parsed from pflag's usage lines. Shared by the
 * flag-table check and the argv fuzz test.
 */
import { execFile } from "node:child_process";
import { readdirSync, realpathSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import type { Arity } from "../src/domain/kubectl-argv-table.js";

export const run = promisify(execFile);
export const helpEnv = { PATH: "/usr/bin:/bin", HOME: "/nonexistent" };

/**
 * The kubectl on PATH (resolved) and every kubectl.1.NN beside it: the Google
 * Cloud SDK's kubectl is a dispatcher that execs the one matching the server.
 */
export function binaries(): string[] {
  for (const d of process.env["PATH"]!.split(":")) {
    let real: string;
    try {
      real = realpathSync(path.join(d, "kubectl"));
    } catch {
      continue;
    }
    const siblings = readdirSync(path.dirname(real)).filter((f) => /^kubectl\.\d+\.\d+$/.test(f)).map((f) => path.join(path.dirname(real), f));
    return [real, ...siblings];
  }
  return [];
}

const FLAG_LINE = /^\s+(?:-(\w), )?--([\w-]+)=(.*):\s*$/gm;

export interface HelpFlag {
  arity: Arity;
  short: string | undefined;
}

/** pflag shows a boolean as `--flag=false|true`, everything else with its typed default (`''`, `[]`, `500`, `0s`). */
export function parseHelp(text: string): Map<string, HelpFlag> {
  const out = new Map<string, HelpFlag>();
  for (const m of text.matchAll(FLAG_LINE)) out.set(m[2]!, { arity: m[3] === "true" || m[3] === "false" ? "bool" : "value", short: m[1] });
  return out;
}

export async function help(bin: string, args: string[]): Promise<Map<string, HelpFlag>> {
  const r = await run(bin, args, { env: helpEnv, timeout: 20_000 });
  return parseHelp(r.stdout);
}
