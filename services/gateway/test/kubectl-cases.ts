/**
 * The kubectl cases both kubectl suites run, so the list of commands and the
 * way outputs are compared live in one place:
 * - services/gateway/test/k8s-kubectl.test.ts: gateway → NATS → tunnel-proxy →
 *   edge Proxy over loopback gRPC (no WireGuard), all in one process;
 * - e2e/kubectl-tunnel.test.ts: the same path with every hub service as its
 *   own process and the edge agent behind a real WireGuard tunnel.
 *
 * Every case runs the real kubectl twice, through the hub's kubeconfig and
 * straight at the API server (the kube-double) with a token of the edge's
 * proxy ServiceAccount (the identity proxied calls run as), and wants the same
 * exit code, stdout and stderr.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import type { KubeDouble, RequestRecord } from "@daalu/kube-double";
import { eventually } from "@daalu/testing";

const run = promisify(execFile);

export interface KubectlResult {
  code: number;
  out: string;
  err: string;
}

/** One HTTP round trip kubectl logged at -v=6 (path without the query; status undefined when no answer came; ms as kubectl measured it). */
export interface LoggedRequest {
  method: string;
  path: string;
  status: number | undefined;
  ms: number;
}

/**
 * klog's info lines: what -v=6 adds to stderr. A multi-line entry (the
 * "server response object" of an error) keeps its continuation lines, the
 * same on both sides of a comparison since both run at -v=6.
 */
const KLOG_INFO = /^I\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ [\w.-]+:\d+\] .*(\n|$)/gm;
const ROUND_TRIP = /round_trippers\.go:\d+\] ([A-Z]+) (\S+) (?:(\d{3}) .*?)?in (\d+) milliseconds/g;

/** A running kubectl (logs -f, get -w) whose output the test watches. */
export interface KubectlStream {
  child: ChildProcess;
  stdout(): string;
  /** SIGKILL (the client goes away without a word) and wait for the exit. */
  kill(): Promise<void>;
}

/**
 * The real kubectl with one kubeconfig and its own discovery cache. It runs
 * at -v=6, so kubectl itself logs every HTTP round trip it makes: they are
 * kept in `requests` (what the audit log must hold) and left out of stderr.
 */
export class Kubectl {
  /** Every round trip kubectl logged, in order. */
  readonly requests: LoggedRequest[] = [];

  constructor(
    readonly kubeconfig: string,
    readonly cacheDir: string,
  ) {}

  private argv(args: string[]): string[] {
    return ["--kubeconfig", this.kubeconfig, "--cache-dir", this.cacheDir, "-v=6", ...args];
  }

  /** Records the logged round trips; returns stderr without klog's info lines. */
  private stderr(err: string): string {
    for (const m of err.matchAll(ROUND_TRIP)) this.requests.push({ method: m[1]!, path: new URL(m[2]!).pathname, status: m[3] ? Number(m[3]) : undefined, ms: Number(m[4]) });
    return err.replace(KLOG_INFO, "");
  }

  async run(args: string[], timeoutMs = 20_000): Promise<KubectlResult> {
    try {
      const r = await run("kubectl", this.argv(args), { timeout: timeoutMs });
      return { code: 0, out: r.stdout, err: this.stderr(r.stderr) };
    } catch (e) {
      const x = e as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof x.code === "number" ? x.code : -1, out: x.stdout ?? "", err: this.stderr(x.stderr ?? "") };
    }
  }

  spawn(args: string[]): KubectlStream {
    const child = spawn("kubectl", this.argv(args), { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout!.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr!.on("data", (b: Buffer) => (err += b.toString()));
    const closed = new Promise<void>((r) => child.once("close", () => r()));
    void closed.then(() => this.stderr(err));
    return {
      child,
      stdout: () => out,
      async kill() {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
        await closed;
      },
    };
  }
}

/**
 * AGE columns and relative times differ by the second between the two runs,
 * and with them a table's column widths ("59s" vs "60s", "9m59s" vs "10m"):
 * ages are masked and runs of padding collapsed, the cells and their order
 * still compared.
 */
export const maskAge = (s: string) =>
  s
    .replace(/\b\d+(s|m|h|d)(\d+(s|m|h))?\b/g, "<age>")
    .replace(/\(x\d+ over <age>\)/g, "")
    .replace(/ {2,}/g, "  ");

/** Refused by the edge proxy account's RBAC (it may not list secrets): the API server's 403 must reach kubectl verbatim. */
export const FORBIDDEN_ARGS = ["get", "secrets", "-n", "shop"];
export const FORBIDDEN_MESSAGE =
  /Error from server \(Forbidden\): secrets is forbidden: User "system:serviceaccount:daalu-edge:daalu-edge-proxy" cannot list resource "secrets" in API group "" in the namespace "shop"/;
/** A namespace and pod that do not exist: kubectl prints nothing on stdout and exits 1 either way. */
const NOT_FOUND_ARGS = ["get", "pods", "-n", "nope-no-such-ns", "nope"];

/** Every command of the issue (get/describe on each kind, logs --tail, rollout status), plus Forbidden and not found. */
export const SAME_OUTPUT: readonly string[][] = [
  ["get", "pods"],
  ["get", "pods", "-A"],
  ["get", "pods", "-A", "-o", "wide"],
  ["describe", "pod", "nginx"],
  ["get", "services", "-A"],
  ["describe", "services", "-n", "shop"],
  ["get", "deployments", "-A"],
  ["describe", "deployment", "-n", "shop", "web"],
  ["get", "statefulsets", "-n", "shop"],
  ["describe", "statefulset", "-n", "shop", "postgres"],
  ["get", "daemonsets", "-A"],
  ["describe", "daemonset", "-n", "kube-system", "kube-proxy"],
  ["get", "events", "-A"],
  ["get", "nodes"],
  ["describe", "nodes"],
  ["get", "pod", "nginx", "-o", "yaml"],
  ["logs", "nginx", "--tail", "3"],
  ["rollout", "status", "-n", "shop", "deployment/web", "--timeout", "5s"],
  FORBIDDEN_ARGS,
  NOT_FOUND_ARGS,
];

/** What a suite hands the shared cases once its world is up. */
export interface KubectlCasesContext {
  /** kubectl with the kubeconfig downloaded from the hub (GET /v1/clusters/{id}/kubeconfig). */
  hub: Kubectl;
  /** kubectl straight at the API server with a token of the edge's proxy ServiceAccount. */
  direct: Kubectl;
  /** The API server behind the edge. */
  kube: KubeDouble;
  /** Rows in audit.calls for the cluster, optionally only those matching `where` (SQL on audit.calls). */
  auditRows(where?: string): Promise<number>;
  /**
   * Of the API server's requests from index `from` on, how many were made for
   * calls through the hub. Default: all of them; a suite whose edge also
   * calls the API server on its own (health probes) leaves those out.
   */
  proxiedRequestsSince?(from: number): number;
}

const open = (kube: KubeDouble, f: (q: RequestRecord) => boolean) => kube.requestCount((q) => q.status === undefined && f(q));

/**
 * Registers the shared cases with node:test. `ctx` is called when a case
 * runs (after the suite's `before` built the world). Cases run in order: the
 * comparisons first, then the ones that change the API server's state.
 */
export function kubectlCases(ctx: () => KubectlCasesContext): void {
  for (const args of SAME_OUTPUT) {
    test(`kubectl ${args.join(" ")} through the tunnel equals direct`, async () => {
      const { hub: viaHub, direct: straight } = ctx();
      const direct = await straight.run(args);
      const hub = await viaHub.run(args);
      assert.equal(hub.code, direct.code, `exit codes differ:\nhub: ${hub.err}\ndirect: ${direct.err}`);
      assert.equal(maskAge(hub.out), maskAge(direct.out));
      assert.equal(maskAge(hub.err), maskAge(direct.err));
      // Every case but "not found" prints something: equal empty outputs would prove nothing.
      if (args !== NOT_FOUND_ARGS) assert.ok(direct.out.length > 0 || direct.err.length > 0);
      else assert.match(direct.err, /NotFound/);
    });
  }

  test("Forbidden shows the API server's message verbatim", async () => {
    const hub = await ctx().hub.run(FORBIDDEN_ARGS);
    assert.notEqual(hub.code, 0);
    assert.match(hub.err, FORBIDDEN_MESSAGE);
  });

  test("one audit row per call", async () => {
    const { hub, kube, auditRows } = ctx();
    const proxied = ctx().proxiedRequestsSince ?? ((from: number) => kube.requests.length - from);
    // Rows are counted by their call time, so records of earlier streams that end now do not count.
    await eventually(() => assert.equal(open(kube, () => true), 0));
    const since = new Date().toISOString();
    const kube0 = kube.requests.length;
    const r = await hub.run(["get", "pods", "-A"]);
    assert.equal(r.code, 0, r.err);
    const calls = proxied(kube0);
    assert.ok(calls >= 1);
    const rows = () => auditRows(`time >= '${since}'`);
    await eventually(async () => assert.equal(await rows(), calls));
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(await rows(), calls, "no extra rows");
  });

  test("logs -f streams, and killing kubectl cancels the API server request", async () => {
    const { hub, kube, auditRows } = ctx();
    const logStreams = () => open(kube, (q) => q.subresource === "log");
    assert.equal(logStreams(), 0);
    const logRows = () => auditRows("subresource = 'log' and name = 'nginx' and path like '%/log'");
    const rows0 = await logRows();
    const p = hub.spawn(["logs", "-f", "nginx", "--tail", "1"]);
    await eventually(() => assert.equal(logStreams(), 1));
    const pod = kube.store.get("pods", "default", "nginx") as unknown as { spec: { containers: { name: string }[] } };
    kube.appendLog("default", "nginx", pod.spec.containers[0]!.name, "followed through the tunnel");
    await eventually(() => assert.match(p.stdout(), /followed through the tunnel/));
    await p.kill();
    await eventually(() => assert.equal(logStreams(), 0));
    // The stream's one record is written when it ends (here: cancelled by the caller).
    await eventually(async () => assert.equal((await logRows()) - rows0, 1));
  });

  test("get -w streams new objects, and killing kubectl ends the API server's watch", async () => {
    const { hub, kube } = ctx();
    const watches = () => open(kube, (q) => q.verb === "watch");
    const p = hub.spawn(["get", "services", "-n", "default", "-w"]);
    await eventually(() => assert.ok(open(kube, (q) => q.verb === "watch" && q.resource === "services") >= 1, "a services watch open at the API server"));
    kube.store.put({ apiVersion: "v1", kind: "Service", metadata: { name: "watched-svc", namespace: "default" }, spec: { type: "ClusterIP", clusterIP: "10.0.0.77", ports: [{ port: 80, protocol: "TCP" }] } });
    await eventually(() => assert.match(p.stdout(), /watched-svc/));
    await p.kill();
    await eventually(() => assert.equal(watches(), 0));
  });
}
