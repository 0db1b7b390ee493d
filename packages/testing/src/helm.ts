/**
 * The real `helm` for chart tests: `.tools/bin/helm` (put there by
 * scripts/ensure-helm.sh, which scripts/test.sh runs first) or `helm` on PATH.
 * Tests that need it skip with `HELM_MISSING` when neither exists.
 */
import { execFile } from "node:child_process";
import { accessSync, constants, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (this file is packages/testing/src/helm.ts). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

export const HELM_MISSING = "no helm binary: run `bash scripts/ensure-helm.sh` (puts one at .tools/bin/helm) or put helm on PATH";

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Path of the helm binary, or undefined when there is none. */
export function findHelm(): string | undefined {
  const local = path.join(REPO_ROOT, ".tools/bin/helm");
  if (executable(local)) return local;
  for (const dir of (process.env["PATH"] ?? "").split(path.delimiter)) {
    if (dir && executable(path.join(dir, "helm"))) return path.join(dir, "helm");
  }
  return undefined;
}

let home: string | undefined;

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs helm asynchronously (a test may serve the chart repository from its own
 * process) with its cache, config and data in one temporary directory per test
 * process, so no test reads or writes the user's repositories.
 */
export function runHelm(args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<HelmResult> {
  const bin = findHelm();
  if (!bin) return Promise.reject(new Error(HELM_MISSING));
  home ??= mkdtempSync(path.join(tmpdir(), "daalu-helm-"));
  const env = {
    PATH: process.env["PATH"] ?? "",
    HOME: home,
    HELM_CACHE_HOME: path.join(home, "cache"),
    HELM_CONFIG_HOME: path.join(home, "config"),
    HELM_DATA_HOME: path.join(home, "data"),
  };
  return new Promise((resolve) => {
    execFile(bin, args, { cwd: opts.cwd ?? REPO_ROOT, env, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
