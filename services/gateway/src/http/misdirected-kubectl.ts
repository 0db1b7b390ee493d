/**
 * Kubernetes API paths on the gateway's root, answered with a Kubernetes
 * Status that names the cause and the fix instead of something that reads as
 * a cluster's answer.
 *
 * kubectl before 1.34 drops the path of the kubeconfig's server on `get --raw`
 * (fixed upstream by kubernetes PR 131165): `kubectl get --raw /readyz` with
 * the hub's kubeconfig (`…/k8s/clusters/<id>`) reaches the gateway's own
 * `/readyz`, whose "ready" would pass for a healthy cluster, and `/version`,
 * `/api`, `/apis`, `/openapi/…` would get a problem+json kubectl cannot print.
 *
 * - `/livez`, `/version`, `/api`, `/apis`, `/openapi/v2`, `/openapi/v3` and
 *   everything under them, `/healthz/…`, `/readyz/…`: always the Status (the hub
 *   serves nothing there).
 * - `/healthz` and `/readyz` themselves stay the hub's own probes (devhub,
 *   deploy files, tests: plain GETs without a token), unless the request
 *   carries kubectl's User-Agent or a bearer token: a probe sends neither,
 *   kubectl with a hub kubeconfig sends both.
 *
 * Runs in onRequest before authentication, so the caller learns the fix even
 * without a valid token. Pinned by test/misdirected-kubectl.test.ts.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { ClusterPathMissingError } from "../errors.js";
import { kubeStatus } from "./problems.js";

const HUB_PROBES = new Set(["/healthz", "/readyz"]);
const CLUSTER_ONLY = ["/livez", "/version", "/api", "/apis", "/openapi/v2", "/openapi/v3", "/healthz", "/readyz"];

const under = (path: string, p: string) => path === p || path.startsWith(`${p}/`);

/** Whether `req` looks like kubectl or another Kubernetes client with a hub token, not a probe. */
function fromKubeClient(req: FastifyRequest): boolean {
  const ua = req.headers["user-agent"] ?? "";
  return /^kubectl[/-]/.test(ua) || /^Bearer\s/i.test(req.headers.authorization ?? "");
}

/** The onRequest hook: answers misdirected cluster paths, lets everything else through. */
export async function misdirectedKubectl(req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const path = (req.raw.url ?? req.url).split("?")[0]!.replace(/\/+$/, "") || "/";
  if (!CLUSTER_ONLY.some((p) => under(path, p))) return;
  if (HUB_PROBES.has(path) && !fromKubeClient(req)) return;
  const err = new ClusterPathMissingError(path);
  await reply.code(err.httpStatus).header("daalu-error-reason", err.reason).type("application/json").send(JSON.stringify(kubeStatus(err)));
}
