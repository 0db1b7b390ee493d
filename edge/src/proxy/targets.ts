/**
 * The edge's registry of in-cluster HTTP targets (Prometheus, Loki, Grafana,
 * ...), parsed from one setting such as
 *
 *   EDGE_HTTP_TARGETS=prometheus=prometheus-server.monitoring.svc:9090,loki=http://loki.monitoring.svc:3100
 *
 * Each entry is `name=[http(s)://]host:port[/base]`, optionally followed by
 * `|/prefix|/prefix` to set the allowed path prefixes. Without them the
 * well-known names get their read-only query APIs (DEFAULT_TARGET_PREFIXES)
 * and any other name gets nothing: a target must say what it exposes. Pure:
 * no I/O; the edge's config.ts reports `problems` with its others.
 */
import type { HttpTarget } from "./policy.js";
import { KUBERNETES_TARGET } from "./policy.js";

/** Read-only query endpoints of the usual observability stack (the admin APIs stay out). */
export const DEFAULT_TARGET_PREFIXES: Readonly<Record<string, readonly string[]>> = {
  prometheus: ["/api/v1/query", "/api/v1/query_range", "/api/v1/query_exemplars", "/api/v1/series", "/api/v1/labels", "/api/v1/label", "/api/v1/metadata", "/api/v1/targets", "/api/v1/rules", "/api/v1/alerts", "/api/v1/status/buildinfo", "/-/healthy", "/-/ready"],
  loki: ["/loki/api/v1/query", "/loki/api/v1/query_range", "/loki/api/v1/labels", "/loki/api/v1/label", "/loki/api/v1/series", "/loki/api/v1/index/stats", "/ready"],
  grafana: ["/api/health", "/api/search", "/api/dashboards/uid", "/api/annotations"],
};

const NAME = /^[a-z][a-z0-9-]{0,62}$/;

/** Parses EDGE_HTTP_TARGETS; every problem is pushed to `problems` (all at once, as config.ts does). */
export function parseHttpTargets(spec: string | undefined, problems: string[], variable = "EDGE_HTTP_TARGETS"): Record<string, HttpTarget> {
  const out: Record<string, HttpTarget> = {};
  if (!spec) return out;
  for (const entry of spec.split(",").map((s) => s.trim()).filter(Boolean)) {
    const eq = entry.indexOf("=");
    const name = eq < 0 ? "" : entry.slice(0, eq);
    if (!NAME.test(name) || name === KUBERNETES_TARGET) {
      problems.push(`${variable}: "${entry}" must start with a target name (a-z, 0-9, -; not "${KUBERNETES_TARGET}") and "="`);
      continue;
    }
    if (Object.hasOwn(out, name)) {
      problems.push(`${variable}: target "${name}" is listed twice`);
      continue;
    }
    const [where, ...prefixes] = entry.slice(eq + 1).split("|");
    const schemed = /^https?:\/\//.test(where!);
    let url: URL;
    try {
      url = new URL(schemed ? where! : `http://${where}`);
    } catch {
      problems.push(`${variable}: target "${name}" has no valid address ("${where}"); use host:port or http://host:port`);
      continue;
    }
    // A bare host:port must name its port (a Service port is never implied); a URL may use its scheme's default.
    if ((!schemed && !/^[^/]+:\d{1,5}(\/|$)/.test(where!)) || url.search || url.hash || url.username || url.password) {
      problems.push(`${variable}: target "${name}" must be host:port (or an http(s) URL) with no query, fragment or credentials`);
      continue;
    }
    const allowed = prefixes.length > 0 ? prefixes : [...(DEFAULT_TARGET_PREFIXES[name] ?? [])];
    if (allowed.length === 0) {
      problems.push(`${variable}: target "${name}" needs its allowed path prefixes, e.g. ${name}=${where}|/api`);
      continue;
    }
    const bad = allowed.find((p) => !/^\/[A-Za-z0-9._~\-/]*$/.test(p) || p.split("/").some((s) => s === "." || s === ".."));
    if (bad !== undefined) {
      problems.push(`${variable}: target "${name}" has an invalid path prefix "${bad}"`);
      continue;
    }
    out[name] = { url: `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, "")}`, pathPrefixes: allowed };
  }
  return out;
}
