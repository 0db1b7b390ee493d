/**
 * kube-apiserver's health endpoints: `/livez`, `/readyz` and the older
 * `/healthz`, each `ok` or, with `?verbose`, one `[+]<check> ok` line per
 * check and `<endpoint> check passed`; `/<endpoint>/<check>` runs one check.
 * The checks are the names a real server lists (all pass: the double has no
 * etcd to lose).
 */
import type http from "node:http";

const LIVE = ["ping", "log", "etcd", "poststarthook/start-apiserver-admission-initializer", "poststarthook/generic-apiserver-start-informers", "poststarthook/start-system-namespaces-controller", "poststarthook/bootstrap-controller"];
const CHECKS: Readonly<Record<string, readonly string[]>> = {
  livez: LIVE,
  readyz: [...LIVE.slice(0, 3), "etcd-readiness", "informer-sync", ...LIVE.slice(3), "shutdown"],
  healthz: LIVE,
};

/** Answers `/livez`, `/readyz`, `/healthz` and their `/<check>` subpaths; false when `path` is none of them. */
export function handleHealth(path: string, query: URLSearchParams, res: http.ServerResponse): boolean {
  const [endpoint, ...rest] = path.slice(1).split("/");
  const checks = CHECKS[endpoint ?? ""];
  if (!checks) return false;
  const text = (body: string, code = 200) => {
    res.writeHead(code, { "Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache, private" });
    res.end(body);
  };
  if (rest.length > 0) {
    if (checks.includes(rest.join("/"))) text("ok");
    else text("404 page not found\n", 404);
    return true;
  }
  if (query.has("verbose")) text(`${checks.map((c) => `[+]${c} ok`).join("\n")}\n${endpoint} check passed\n`);
  else text("ok");
  return true;
}
