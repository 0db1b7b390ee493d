/**
 * Run one kubectl command for an operator:
 *
 *   POST /v1/clusters/:id/kubectl  { "argv": ["get", "pods", "-n", "shop"] }
 *     -> { exitCode, stdout, stderr, truncated, timedOut, durationMs }
 *
 * The real kubectl binary runs (execve, never a shell) so the output is
 * exactly kubectl's. argv is checked first against an allowlist of read-only
 * verbs and harmless flags (domain/kubectl-argv.ts): anything else is a 400 or
 * 403 problem and nothing runs.
 *
 * How kubectl reaches the cluster: through this gateway's own /k8s/clusters/:id
 * endpoint, so each of its requests goes through the tunnel and leaves one
 * audit row with the caller's kind and id, like any kubectl of the operator's.
 * kubectl sends no credentials to plain-http servers, and the caller's token
 * should not be written to disk anyway, so kubectl talks to a loopback bridge
 * (127.0.0.1, random port) at http://127.0.0.1:PORT/run/<256-bit secret>; the
 * bridge maps the secret, valid only while that run lasts, to the caller's
 * Authorization header and the cluster, and forwards to the gateway's own
 * address. The temporary kubeconfig holds no secret that outlives the run.
 *
 * Limits: a wall-clock time limit (the child is killed), an output cap per
 * stream (the child is killed, `truncated: true`), and a bound on concurrent
 * runs per gateway (429 beyond it). Register with
 * `app.register(kubectlRunPlugin, { auth, peering, logger })`.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { Code, DaaluError, type Logger } from "@daalu/runtime";
import type { Authenticator } from "../auth.js";
import { checkKubectlArgv, MAX_ARGS, MAX_ARG_LENGTH } from "../domain/kubectl-argv.js";
import type { PeeringClient } from "@daalu/peering";
import { authenticate, inSpan } from "./route-kit.js";
import { idParam } from "./schemas.js";

export const DEFAULT_KUBECTL_TIMEOUT_MS = 30_000;
export const DEFAULT_KUBECTL_MAX_OUTPUT = 1024 * 1024;
export const DEFAULT_KUBECTL_CONCURRENCY = 4;
/** The child's PATH: kubectl itself needs nothing else (no plugins, no credential helpers). */
export const DEFAULT_KUBECTL_PATH = "/usr/local/bin:/usr/bin:/bin";

export interface KubectlRunOptions {
  auth: Authenticator;
  peering: PeeringClient;
  logger: Logger;
  /** The kubectl binary (default "kubectl", looked up in `searchPath`). */
  kubectlBin?: string;
  searchPath?: string;
  timeoutMs?: number;
  /** Cap of stdout and of stderr, each, in bytes. */
  maxOutputBytes?: number;
  maxConcurrent?: number;
  /** Where the bridge reaches this gateway's /k8s routes; default: the server's own bound address. */
  gatewayUrl?: string;
}

/** argv is malformed (400) or asks for something a one-shot run does not allow (403). */
export class KubectlArgvError extends DaaluError {
  override name = "KubectlArgvError";
  constructor(status: 400 | 403, reason: string, message: string) {
    super(status === 400 ? Code.InvalidArgument : Code.PermissionDenied, message, { reason, httpStatus: status });
  }
}

/** Every kubectl slot of this gateway is taken. */
export class KubectlBusyError extends DaaluError {
  override name = "KubectlBusyError";
  constructor(limit: number) {
    super(Code.ResourceExhausted, `${limit} kubectl commands are already running on this gateway; try again shortly`, { reason: "KUBECTL_BUSY", httpStatus: 429 });
  }
}

/** kubectl could not be started at all (not installed). */
export class KubectlUnavailableError extends DaaluError {
  override name = "KubectlUnavailableError";
  constructor(cause: unknown) {
    super(Code.Unavailable, "kubectl is not available on this gateway", { reason: "KUBECTL_UNAVAILABLE", cause });
  }
}

export const kubectlBody = {
  type: "object",
  additionalProperties: false,
  required: ["argv"],
  properties: {
    argv: {
      type: "array",
      minItems: 1,
      maxItems: MAX_ARGS,
      items: { type: "string", maxLength: MAX_ARG_LENGTH },
      description: "kubectl's arguments without \"kubectl\"; argv[0] is the verb (get, describe, logs, events, rollout status|history, api-resources, api-versions, explain, version)",
    },
  },
} as const;

interface Run {
  authorization: string;
  clusterId: string;
}

/** The loopback bridge between a kubectl child and this gateway's /k8s routes. */
class Bridge {
  private server: http.Server | undefined;
  private starting: Promise<number> | undefined;
  private readonly runs = new Map<string, Run>();
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  private readonly tlsAgent = new https.Agent({ keepAlive: true, maxSockets: 64, rejectUnauthorized: false });

  constructor(
    private readonly target: () => URL,
    private readonly log: Logger,
  ) {}

  /** Registers a run; returns its base URL and a function that revokes it. */
  async open(run: Run): Promise<{ url: string; close(): void }> {
    const port = await (this.starting ??= this.listen());
    const secret = randomBytes(32).toString("base64url");
    this.runs.set(secret, run);
    return { url: `http://127.0.0.1:${port}/run/${secret}`, close: () => this.runs.delete(secret) };
  }

  private async listen(): Promise<number> {
    const server = http.createServer((req, res) => this.forward(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    return (server.address() as AddressInfo).port;
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse): void {
    const m = /^\/run\/([A-Za-z0-9_-]{43})(\/.*)?$/.exec(req.url ?? "");
    const run = m ? this.runs.get(m[1]!) : undefined;
    if (!m || !run) {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", message: "unknown or finished kubectl run", reason: "NotFound", code: 404 }));
      return;
    }
    const to = this.target();
    const headers: http.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(req.headers)) if (k !== "host" && k !== "authorization" && k !== "connection" && v !== undefined) headers[k] = v;
    headers["authorization"] = run.authorization;
    const target = { host: to.hostname.replace(/^\[|\]$/g, ""), port: to.port, method: req.method, path: `/k8s/clusters/${run.clusterId}${m[2] ?? "/"}`, headers };
    const onAnswer = (ur: http.IncomingMessage) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      // Watch clients wait for the head before anything else (rollout status, informers).
      res.flushHeaders();
      ur.pipe(res);
    };
    // Our own listening socket: when the gateway serves TLS itself, its certificate
    // names the public host, not the loopback address, so it is not verified here.
    const up = to.protocol === "https:" ? https.request({ ...target, agent: this.tlsAgent }, onAnswer) : http.request({ ...target, agent: this.agent }, onAnswer);
    up.on("error", (err) => {
      this.log.warn({ err: err.message }, "kubectl bridge could not reach the gateway");
      res.destroy();
    });
    res.on("close", () => up.destroy());
    req.pipe(up);
  }

  async close(): Promise<void> {
    this.runs.clear();
    this.agent.destroy();
    this.tlsAgent.destroy();
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
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

export async function kubectlRunPlugin(app: FastifyInstance, opts: KubectlRunOptions): Promise<void> {
  const log = opts.logger.child({ component: "kubectl-run" });
  const timeoutMs = opts.timeoutMs ?? DEFAULT_KUBECTL_TIMEOUT_MS;
  const cap = opts.maxOutputBytes ?? DEFAULT_KUBECTL_MAX_OUTPUT;
  const limit = opts.maxConcurrent ?? DEFAULT_KUBECTL_CONCURRENCY;
  const bin = opts.kubectlBin ?? "kubectl";
  const searchPath = opts.searchPath ?? DEFAULT_KUBECTL_PATH;
  const self = (): URL => {
    if (opts.gatewayUrl) return new URL(opts.gatewayUrl);
    const a = app.server.address() as AddressInfo;
    const host = a.address === "0.0.0.0" ? "127.0.0.1" : a.address === "::" ? "::1" : a.address;
    return new URL(`${app.initialConfig.https ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${a.port}`);
  };
  const bridge = new Bridge(self, log);
  app.addHook("onClose", async () => bridge.close());
  let running = 0;

  app.post<{ Params: { id: string }; Body: { argv: string[] } }>(
    "/v1/clusters/:id/kubectl",
    {
      schema: { params: idParam, body: kubectlBody },
      // Authenticate, then the allowlist's own 400/403 (with its reason), before fastify's generic schema error.
      preValidation: async (req) => {
        await authenticate(opts.auth, req);
        const argv = (req.body as { argv?: unknown } | undefined)?.argv;
        const v = checkKubectlArgv(argv);
        if (!v.ok) throw new KubectlArgvError(v.status, v.reason, v.message);
      },
    },
    (req) =>
      inSpan(req, async () => {
        const p = req.principal!;
        const clusterId = req.params.id;
        // 404 for a cluster of another tenant, before anything runs.
        await opts.peering.getCluster({ clusterId }, { tenantId: p.tenantId, caller: p.caller });
        if (running >= limit) throw new KubectlBusyError(limit);
        running++;
        const started = Date.now();
        const dir = await mkdtemp(path.join(tmpdir(), "daalu-kubectl-"));
        const run = await bridge.open({ authorization: req.headers.authorization ?? "", clusterId });
        try {
          const kubeconfig = path.join(dir, "kubeconfig");
          await writeFile(kubeconfig, ["apiVersion: v1", "kind: Config", "clusters:", "- name: hub", "  cluster:", `    server: ${JSON.stringify(run.url)}`, "users:", "- name: hub", "  user: {}", "contexts:", "- name: hub", "  context: {cluster: hub, user: hub}", "current-context: hub", ""].join("\n"), { mode: 0o600 });
          const child = spawn(bin, req.body.argv, {
            env: { PATH: searchPath, HOME: dir, KUBECONFIG: kubeconfig, KUBECACHEDIR: path.join(dir, "cache") },
            cwd: dir,
            stdio: ["ignore", "pipe", "pipe"],
            shell: false,
          });
          let timedOut = false;
          const kill = () => child.kill("SIGKILL");
          const out = capture(child.stdout, cap, kill);
          const err = capture(child.stderr, cap, kill);
          const timer = setTimeout(() => {
            timedOut = true;
            kill();
          }, timeoutMs);
          const exit = await new Promise<{ code: number | null }>((resolve, reject) => {
            child.once("error", reject);
            child.once("close", (code) => resolve({ code }));
          }).finally(() => clearTimeout(timer)).catch((e: unknown) => {
            throw new KubectlUnavailableError(e);
          });
          const truncated = out.truncated() || err.truncated();
          log.debug({ verb: req.body.argv[0], exitCode: exit.code, timedOut, truncated, ms: Date.now() - started }, "kubectl ran");
          return { exitCode: timedOut || truncated ? null : exit.code, stdout: out.text(), stderr: err.text(), truncated, timedOut, durationMs: Date.now() - started };
        } finally {
          run.close();
          running--;
          await rm(dir, { recursive: true, force: true }).catch(() => undefined);
        }
      }),
  );
}
