/** `daalu audit [CLUSTER]` and `daalu usage [CLUSTER]`: the hub's audit log and metering. */
import { CliError, EXIT } from "../exit.js";
import { Hub, type Cluster } from "../hub.js";
import { bytes, color, printData, printTable, type Format } from "../render.js";
import { parseSince } from "../time.js";

interface Call {
  id: string;
  time: string | null;
  clusterId: string;
  caller: { kind: string; id: string };
  operation: { verb: string; resource: string; namespace: string; name: string; subresource: string; path: string };
  outcome: { statusCode: number; ok: boolean; error: string | null };
  latencyMs: number;
}

export interface AuditOptions {
  output: Format;
  callerKind?: string;
  caller?: string;
  verb?: string;
  outcome?: string;
  since?: string;
  limit: string;
}

const PAGE_MAX = 1000;

function what(op: Call["operation"]): string {
  if (op.verb === "kubectl") return op.path;
  const obj = [op.resource + (op.subresource ? `/${op.subresource}` : ""), op.name].filter(Boolean).join("/");
  return [op.namespace ? `${op.namespace}:` : "", obj || op.path].join("");
}

export async function audit(cluster: string | undefined, o: AuditOptions): Promise<void> {
  const limit = Number(o.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) throw new CliError(`--limit must be a whole number from 1 to 100000, got "${o.limit}"`, EXIT.usage);
  const hub = Hub.fromConfig();
  const clusters = await hub.clusters();
  let only: Cluster | undefined;
  if (cluster) {
    only = clusters.find((c) => c.name === cluster) ?? clusters.find((c) => c.id === cluster);
    if (!only) throw new CliError(`no cluster named or with id "${cluster}"`, EXIT.notFound, "list your clusters with `daalu clusters ls`", "CLUSTER_NOT_FOUND");
  }
  const q = new URLSearchParams();
  if (only) q.set("clusterId", only.id);
  if (o.callerKind) q.set("callerKind", o.callerKind);
  if (o.caller) q.set("callerId", o.caller);
  if (o.verb) q.set("verb", o.verb);
  if (o.outcome) q.set("outcome", o.outcome);
  if (o.since) q.set("from", parseSince(o.since).toISOString());
  // Cursor pages, newest first, until the limit.
  const calls: Call[] = [];
  let pageToken: string | null = null;
  do {
    const page = new URLSearchParams(q);
    page.set("pageSize", String(Math.min(PAGE_MAX, limit - calls.length)));
    if (pageToken) page.set("pageToken", pageToken);
    const res: { calls: Call[]; nextPageToken: string | null } = await hub.json("GET", `/v1/audit/calls?${page}`);
    calls.push(...res.calls);
    pageToken = res.nextPageToken;
  } while (pageToken && calls.length < limit);
  if (await printData(o.output, { calls })) return;
  if (calls.length === 0) {
    process.stdout.write("No calls recorded for these filters.\n");
    return;
  }
  const names = new Map(clusters.map((c) => [c.id, c.name]));
  const c = color();
  await printTable(
    ["TIME", "CLUSTER", "CALLER", "VERB", "WHAT", "STATUS", "MS"],
    calls.map((x) => [x.time ?? "-", names.get(x.clusterId) ?? x.clusterId, `${x.caller.kind}:${x.caller.id}`, x.operation.verb, what(x.operation), x.outcome.ok ? c.green(String(x.outcome.statusCode)) : c.red(`${x.outcome.statusCode}${x.outcome.error ? ` ${x.outcome.error}` : ""}`), String(x.latencyMs)]),
  );
}

interface Bucket {
  start: string | null;
  clusterId: string | null;
  calls: number;
  errors: number;
  bytesIn: number;
  bytesOut: number;
  /** exec, attach and port-forward sessions started (their bytes are in bytesIn/bytesOut); absent from hubs before it. */
  sessions?: number;
}

export async function usage(cluster: string | undefined, o: { output: Format; granularity: string; since: string }): Promise<void> {
  if (o.granularity !== "hour" && o.granularity !== "day") throw new CliError(`--granularity must be hour or day, got "${o.granularity}"`, EXIT.usage);
  const hub = Hub.fromConfig();
  const q = new URLSearchParams({ granularity: o.granularity, from: parseSince(o.since).toISOString(), to: new Date().toISOString() });
  if (cluster) q.set("clusterId", (await hub.findCluster(cluster)).id);
  const res = await hub.json<{ buckets: Bucket[]; total: Bucket }>("GET", `/v1/usage?${q}`);
  if (await printData(o.output, res)) return;
  const row = (label: string, b: Bucket) => [label, String(b.calls), String(b.errors), b.sessions === undefined ? "-" : String(b.sessions), bytes(b.bytesIn), bytes(b.bytesOut)];
  await printTable(["PERIOD", "CALLS", "ERRORS", "SESSIONS", "BYTES IN", "BYTES OUT"], [...res.buckets.map((b) => row(b.start ?? "-", b)), row(color().bold("total"), res.total)]);
}
