/**
 * Run one kubectl command for an operator:
 *
 *   POST /v1/clusters/:id/kubectl  { "argv": ["get", "pods", "-n", "shop"] }
 *     -> { exitCode, stdout, stderr, truncated, timedOut, durationMs }
 *
 * Who: an operator or admin token (a viewer gets 403 OPERATOR_REQUIRED).
 *
 * The real kubectl binary runs (execve, never a shell) so the output is
 * exactly kubectl's. argv is first parsed the way kubectl parses it and
 * checked against the per-verb allowlist (domain/kubectl-argv.ts): anything
 * else is a 400 or 403 problem and nothing runs. The child then runs fenced
 * in (kubectl-run-sandbox.ts: pinned flags after argv, a clean environment,
 * user nobody in a 0700 directory of its own, time and output limits).
 *
 * How kubectl reaches the cluster: through this gateway's own /k8s/clusters/:id
 * endpoint, so each of its requests goes through the tunnel and leaves one
 * audit row with the caller's kind and id, like any kubectl of the operator's;
 * the loopback bridge in between (kubectl-run-bridge.ts) lends the run the
 * caller's Authorization for as long as it lasts. Each run also leaves one
 * audit record of its own (verb "kubectl", path = the command line) and one
 * structured log line.
 *
 * Limits: concurrent runs per gateway, per tenant and per cluster
 * (domain/kubectl-slots.ts; 429 beyond them). Register with
 * `app.register(kubectlRunPlugin, { auth, peering, logger })`.
 */
import type { AddressInfo } from "node:net";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { FastifyInstance } from "fastify";
import { Code, DaaluError, type Logger } from "@daalu/runtime";
import { newCallRecord, type AuditPublisher } from "@daalu/audit";
import { requireOperator, type Authenticator } from "../auth.js";
import { checkKubectlArgv, MAX_ARGS, MAX_ARG_LENGTH } from "../domain/kubectl-argv.js";
import type { PeeringClient } from "@daalu/peering";
import { KubectlSlots, type SlotLimits, type SlotScope } from "../domain/kubectl-slots.js";
import { KubectlBridge } from "./kubectl-run-bridge.js";
import { runAsUser, runSandboxed, type SandboxResult } from "./kubectl-run-sandbox.js";
import { authenticate, inSpan } from "./route-kit.js";
import { idParam } from "./schemas.js";

export const DEFAULT_KUBECTL_TIMEOUT_MS = 30_000;
export const DEFAULT_KUBECTL_MAX_OUTPUT = 1024 * 1024;
/** The child's PATH: kubectl itself needs nothing else (no plugins, no credential helpers). */
export const DEFAULT_KUBECTL_PATH = "/usr/local/bin:/usr/bin:/bin";

export interface KubectlRunOptions {
  auth: Authenticator;
  peering: PeeringClient;
  logger: Logger;
  /** Where each run's own audit record goes (verb "kubectl", path = the command line); none: only the log line. */
  audit?: AuditPublisher;
  /** The kubectl binary (default "kubectl", looked up in `searchPath`). */
  kubectlBin?: string;
  searchPath?: string;
  timeoutMs?: number;
  /** Cap of stdout and of stderr, each, in bytes. */
  maxOutputBytes?: number;
  /** Concurrent runs per gateway, tenant and cluster (config.ts has the defaults). */
  limits?: SlotLimits;
  /** uid/gid kubectl runs as when the gateway is root (default 65534, nobody). */
  runAs?: number;
  /** Where the bridge reaches this gateway's /k8s routes; default: the server's own bound address. */
  gatewayUrl?: string;
  /** Tests: called with each run's directory while it exists. */
  onRunDir?: (dir: string) => void;
}

/** Defaults of `limits` when the caller gives none (the service passes config.ts's). */
export const DEFAULT_KUBECTL_LIMITS: SlotLimits = { total: 8, perTenant: 2, perCluster: 2 };

/** argv is malformed (400) or asks for something a one-shot run does not allow (403). */
export class KubectlArgvError extends DaaluError {
  override name = "KubectlArgvError";
  constructor(status: 400 | 403, reason: string, message: string) {
    super(status === 400 ? Code.InvalidArgument : Code.PermissionDenied, message, { reason, httpStatus: status });
  }
}

const BUSY: Record<SlotScope, [string, (n: number) => string]> = {
  gateway: ["KUBECTL_BUSY", (n) => `${n} kubectl commands are already running on this gateway; try again shortly`],
  tenant: ["KUBECTL_TENANT_BUSY", (n) => `your tenant already runs ${n} kubectl commands at once, its share of this gateway; try again when one ends`],
  cluster: ["KUBECTL_CLUSTER_BUSY", (n) => `${n} kubectl commands are already running against this cluster; try again when one ends`],
};

/** A kubectl slot cap is reached: the gateway's, the tenant's or the cluster's. */
export class KubectlBusyError extends DaaluError {
  override name = "KubectlBusyError";
  constructor(scope: SlotScope, limit: number) {
    super(Code.ResourceExhausted, BUSY[scope][1](limit), { reason: BUSY[scope][0], httpStatus: 429 });
  }
}

/** kubectl could not be started at all (not installed). */
export class KubectlUnavailableError extends DaaluError {
  override name = "KubectlUnavailableError";
  constructor(cause: unknown) {
    super(Code.Unavailable, "kubectl is not available on this gateway", { reason: "KUBECTL_UNAVAILABLE", cause });
  }
}

/** The command line as an operator would type it (for the audit record and the log). */
export function commandLine(argv: string[]): string {
  return ["kubectl", ...argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`))].join(" ");
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

export async function kubectlRunPlugin(app: FastifyInstance, opts: KubectlRunOptions): Promise<void> {
  const log = opts.logger.child({ component: "kubectl-run" });
  const sandbox = {
    bin: opts.kubectlBin ?? "kubectl",
    searchPath: opts.searchPath ?? DEFAULT_KUBECTL_PATH,
    timeoutMs: opts.timeoutMs ?? DEFAULT_KUBECTL_TIMEOUT_MS,
    maxOutputBytes: opts.maxOutputBytes ?? DEFAULT_KUBECTL_MAX_OUTPUT,
    runAs: runAsUser(opts.runAs),
    ...(opts.onRunDir ? { onDir: opts.onRunDir } : {}),
  };
  const self = (): URL => {
    if (opts.gatewayUrl) return new URL(opts.gatewayUrl);
    const a = app.server.address() as AddressInfo;
    const host = a.address === "0.0.0.0" ? "127.0.0.1" : a.address === "::" ? "::1" : a.address;
    return new URL(`${app.initialConfig.https ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${a.port}`);
  };
  const bridge = new KubectlBridge(self, log);
  app.addHook("onClose", async () => bridge.close());
  const slots = new KubectlSlots(opts.limits ?? DEFAULT_KUBECTL_LIMITS);

  app.post<{ Params: { id: string }; Body: { argv: string[] } }>(
    "/v1/clusters/:id/kubectl",
    {
      schema: { params: idParam, body: kubectlBody },
      // Authenticate, then the allowlist's own 400/403 (with its reason), before fastify's generic schema error.
      preValidation: async (req) => {
        // Viewers read; running kubectl against a cluster needs an operator (or admin).
        requireOperator(await authenticate(opts.auth, req));
        const argv = (req.body as { argv?: unknown } | undefined)?.argv;
        const v = checkKubectlArgv(argv);
        if (!v.ok) throw new KubectlArgvError(v.status, v.reason, v.message);
      },
    },
    (req) =>
      inSpan(req, async () => {
        const p = req.principal!;
        const clusterId = req.params.id;
        const argv = req.body.argv;
        // 404 for a cluster of another tenant, before anything runs.
        await opts.peering.getCluster({ clusterId }, { tenantId: p.tenantId, caller: p.caller });
        const slot = slots.acquire(p.tenantId, clusterId);
        if (!slot.ok) throw new KubectlBusyError(slot.scope, slot.limit);
        const started = new Date();
        // kubectl reaches /k8s as this caller: its bearer token, or (signed in) its session cookie.
        const csrf = p.session?.csrfToken;
        const run = await bridge.open({ authorization: req.headers.authorization ?? "", ...(req.headers.cookie ? { cookie: req.headers.cookie } : {}), ...(csrf ? { csrfToken: csrf } : {}), clusterId });
        let r: SandboxResult;
        try {
          r = await runSandboxed(argv, run.proxyUrl, sandbox).catch((e: unknown) => {
            throw new KubectlUnavailableError(e);
          });
        } finally {
          run.close();
          slot.release();
        }
        const durationMs = Date.now() - started.getTime();
        const line = commandLine(argv);
        log.info({ tenantId: p.tenantId, caller: { kind: p.caller.kind, id: p.caller.id }, clusterId, argv, exitCode: r.exitCode, timedOut: r.timedOut, truncated: r.truncated, ms: durationMs }, "kubectl ran");
        if (opts.audit) {
          const record = newCallRecord({
            tenantId: p.tenantId,
            clusterId,
            caller: { kind: p.caller.kind, id: p.caller.id },
            operation: { verb: "kubectl", path: line },
            outcome: { statusCode: 200, ok: r.exitCode === 0, error: r.timedOut ? "timed out" : r.truncated ? "output truncated" : r.exitCode === 0 ? "" : `exit code ${r.exitCode}` },
            latencyMs: durationMs,
            bytesOut: BigInt(Buffer.byteLength(r.stdout) + Buffer.byteLength(r.stderr)),
            traceId: req.span?.spanContext().traceId ?? "",
            time: timestampFromDate(started),
          });
          // The run's own API requests were audited one by one (or refused when audit was down); this record only names the command.
          await opts.audit.publish(record).catch((err: unknown) => log.warn({ err, tenantId: p.tenantId, clusterId }, "could not publish the kubectl run's audit record"));
        }
        return { ...r, durationMs };
      }),
  );
}
