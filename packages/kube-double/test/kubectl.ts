/** Runs the real kubectl against a KubeDouble (no shell), with its own kubeconfig and discovery cache. */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startKubeDouble, type KubeDouble } from "../src/index.js";

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Kubectl {
  run(args: string[], token?: string): Promise<KubectlResult>;
  /** Run kubectl with `input` on its stdin; stdout as bytes. */
  pipe(args: string[], input: Buffer, token?: string): Promise<{ code: number; stdout: Buffer; stderr: string }>;
  /** The full argv (after "kubectl") run() uses: for driving kubectl from another program (script, a shell). */
  argv(args: string[], token?: string): string[];
  /** Start a long-running kubectl (logs -f, get -w, rollout status); read `out()`, then `stop()`. */
  start(args: string[], token?: string): { child: ChildProcess; out(): string; err(): string; exited: Promise<number> ; stop(): Promise<number> };
  /** kubectl's environment (the test's, plus the extra settings it was made with). */
  readonly env: NodeJS.ProcessEnv;
  cleanup(): void;
}

/** `env` is added to kubectl's environment (e.g. KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false for SPDY). */
export function kubectlFor(double: KubeDouble, defaultToken = "admin-token", extraEnv: Record<string, string> = {}): Kubectl {
  const dir = mkdtempSync(join(tmpdir(), "kube-double-kubectl-"));
  const configs = new Map<string, string>();
  const configFor = (token: string) => {
    let p = configs.get(token);
    if (!p) {
      p = join(dir, `kubeconfig-${configs.size}`);
      writeFileSync(p, double.kubeconfig({ token }), { mode: 0o600 });
      configs.set(token, p);
    }
    return p;
  };
  return kubectlWith(dir, configFor, defaultToken, extraEnv);
}

/**
 * The same kubectl with a kubeconfig file made elsewhere (e.g. the hub's, downloaded from the gateway): its token
 * arguments are ignored; `env` as for kubectlFor. cleanup() removes only its discovery cache.
 */
export function kubectlWithKubeconfig(kubeconfig: string, extraEnv: Record<string, string> = {}): Kubectl {
  return kubectlWith(mkdtempSync(join(tmpdir(), "kubectl-")), () => kubeconfig, "", extraEnv);
}

function kubectlWith(dir: string, configFor: (token: string) => string, defaultToken: string, extraEnv: Record<string, string>): Kubectl {
  const env = { ...process.env, ...extraEnv };
  const argv = (args: string[], token: string) => ["--kubeconfig", configFor(token), "--cache-dir", join(dir, "cache"), ...args];
  return {
    env,
    run(args, token = defaultToken) {
      return new Promise((resolve) => {
        execFile("kubectl", argv(args, token), { env, timeout: 30_000, maxBuffer: 8 << 20 }, (err, stdout, stderr) => {
          const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : 1) : 0;
          resolve({ code, stdout, stderr });
        });
      });
    },
    pipe(args, input, token = defaultToken) {
      return new Promise((resolve) => {
        const child = spawn("kubectl", argv(args, token), { env, stdio: ["pipe", "pipe", "pipe"], timeout: 60_000 });
        const out: Buffer[] = [];
        let err = "";
        child.stdout.on("data", (d: Buffer) => out.push(d));
        child.stderr.on("data", (d: Buffer) => (err += d.toString()));
        child.stdin.on("error", () => {}); // kubectl may exit before taking all of stdin; its exit code says why
        child.stdin.end(input);
        child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out), stderr: err }));
      });
    },
    argv(args, token = defaultToken) {
      return argv(args, token);
    },
    start(args, token = defaultToken) {
      const child = spawn("kubectl", argv(args, token), { env, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
      const exited = new Promise<number>((resolve) => child.on("close", (code, signal) => resolve(code ?? (signal ? 128 : 1))));
      return {
        child,
        out: () => out,
        err: () => err,
        exited,
        async stop() {
          if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
          return exited;
        },
      };
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Split kubectl's table output into rows of cells (columns are separated by 2+ spaces). */
export function rows(stdout: string): string[][] {
  return stdout.trimEnd().split("\n").map((l) => l.trim().split(/\s{2,}/));
}

/** A double with fixtures and kubectl against it as the admin; `close()` removes both. */
export async function startWithKubectl(): Promise<{ double: KubeDouble; k: Kubectl; close(): Promise<void> }> {
  const double = await startKubeDouble();
  const k = kubectlFor(double);
  return { double, k, close: async () => (k.cleanup(), await double.close()) };
}
