/**
 * One kubectl child, fenced in (defence in depth behind the argv allowlist of
 * domain/kubectl-argv.ts):
 *
 * - Pinned flags: after the caller's argv come the flags that decide where
 *   kubectl connects and what it touches (PINNED_FLAGS). pflag keeps the last
 *   occurrence of a flag, and the allowlist refuses `--` and a value flag left
 *   without its value, so nothing in argv can override or swallow them.
 * - Where it connects: the pinned kubeconfig has one cluster whose server is
 *   a name that never resolves (`http://kubectl-run.invalid`) and whose
 *   proxy-url is the gateway's loopback bridge with this run's secret. Every
 *   request kubectl makes therefore goes to the bridge, which answers only
 *   requests carrying a live run's secret (kubectl-run-bridge.ts).
 * - A clean environment: PATH and HOME (the run's directory) only; no
 *   KUBECONFIG, no HTTP(S)_PROXY/NO_PROXY, no KUBECTL_* switches.
 * - An unprivileged user: when the gateway runs as root, kubectl runs as
 *   nobody (65534:65534, no supplementary groups) in a fresh 0700 directory
 *   owned by that user, so it cannot write anywhere a root-owned path is
 *   expected; the directory is removed after the run.
 * - Bounded: a wall-clock limit (SIGKILL to its process group) and an output
 *   cap per stream (killed too, `truncated`).
 */
import { spawn } from "node:child_process";
import { chown, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

/** The user kubectl runs as when the gateway is root: nobody. */
export const DEFAULT_KUBECTL_RUN_AS = 65_534;
/** The kubeconfig's server: never resolves, so only the proxy (the bridge) can reach "it". */
export const KUBECTL_SERVER = "http://kubectl-run.invalid";
const NAME = "daalu-run";

/** Flags placed after the caller's argv: the last occurrence wins in pflag. */
export function pinnedFlags(dir: string): string[] {
  return [
    `--kubeconfig=${path.join(dir, "kubeconfig")}`,
    `--context=${NAME}`,
    `--cluster=${NAME}`,
    `--user=${NAME}`,
    `--server=${KUBECTL_SERVER}`,
    `--cache-dir=${path.join(dir, "cache")}`,
    "--profile=none",
    `--profile-output=${path.join(dir, "profile.pprof")}`,
    "--v=0",
    "--vmodule=",
    "--token=",
    "--as=",
    "--as-uid=",
    "--username=",
    "--password=",
    "--certificate-authority=",
    "--client-certificate=",
    "--client-key=",
    "--tls-server-name=",
    "--insecure-skip-tls-verify=false",
  ];
}

/** The per-run kubeconfig: one cluster reached through the bridge, no credentials. */
export function kubeconfigText(proxyUrl: string): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    `- name: ${NAME}`,
    "  cluster:",
    `    server: ${JSON.stringify(KUBECTL_SERVER)}`,
    `    proxy-url: ${JSON.stringify(proxyUrl)}`,
    "users:",
    `- name: ${NAME}`,
    "  user: {}",
    "contexts:",
    `- name: ${NAME}`,
    `  context: {cluster: ${NAME}, user: ${NAME}}`,
    `current-context: ${NAME}`,
    "",
  ].join("\n");
}

export interface SandboxOptions {
  bin: string;
  searchPath: string;
  timeoutMs: number;
  /** Cap of stdout and of stderr, each, in bytes. */
  maxOutputBytes: number;
  /** uid and gid kubectl runs as; undefined: the gateway's own (when it is not root). */
  runAs: number | undefined;
  /** Called with the run's directory once it exists (tests look at it). */
  onDir?: (dir: string) => void;
}

export interface SandboxResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  truncated: boolean;
  timedOut: boolean;
}

/** The user kubectl runs as: `configured` when the gateway is root, else the gateway's own user. */
export function runAsUser(configured = DEFAULT_KUBECTL_RUN_AS): number | undefined {
  return process.getuid?.() === 0 ? configured : undefined;
}

/** Collects a stream up to `cap` bytes; calls `over` once when more arrives. */
function capture(stream: NodeJS.ReadableStream, cap: number, over: () => void): { text(): string; truncated(): boolean } {
  const parts: Buffer[] = [];
  let n = 0;
  let cut = false;
  stream.on("data", (b: Buffer) => {
    if (cut) return;
    if (n + b.length > cap) {
      parts.push(b.subarray(0, cap - n));
      n = cap;
      cut = true;
      over();
      return;
    }
    parts.push(b);
    n += b.length;
  });
  return { text: () => Buffer.concat(parts).toString("utf8"), truncated: () => cut };
}

/** Runs kubectl once with `argv` (already checked) reaching the cluster through `proxyUrl`. */
export async function runSandboxed(argv: string[], proxyUrl: string, opts: SandboxOptions): Promise<SandboxResult> {
  const dir = await mkdtemp(path.join(tmpdir(), "daalu-kubectl-"));
  try {
    const kubeconfig = path.join(dir, "kubeconfig");
    await writeFile(kubeconfig, kubeconfigText(proxyUrl), { mode: 0o600 });
    if (opts.runAs !== undefined) {
      await chown(kubeconfig, opts.runAs, opts.runAs);
      await chown(dir, opts.runAs, opts.runAs); // mkdtemp made it 0700
    }
    opts.onDir?.(dir);
    const child = spawn(opts.bin, [...argv, ...pinnedFlags(dir)], {
      env: { PATH: opts.searchPath, HOME: dir },
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"],
      shell: false,
      detached: true, // its own process group, killed as a whole
      ...(opts.runAs !== undefined ? { uid: opts.runAs, gid: opts.runAs } : {}),
    });
    let timedOut = false;
    const kill = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    };
    const out = capture(child.stdout, opts.maxOutputBytes, kill);
    const err = capture(child.stderr, opts.maxOutputBytes, kill);
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, opts.timeoutMs);
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once("error", reject);
      child.once("close", (c) => resolve(c));
    }).finally(() => clearTimeout(timer));
    const truncated = out.truncated() || err.truncated();
    return { exitCode: timedOut || truncated ? null : code, stdout: out.text(), stderr: err.text(), truncated, timedOut };
  } finally {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}
