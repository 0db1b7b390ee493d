/** `daalu drift put|get|enable|disable|check|report`: drift detection of a cluster. */
import { readFile } from "node:fs/promises";
import { CliError, EXIT } from "../exit.js";
import { Hub } from "../hub.js";
import { ago, color, printData, printFields, printTable, type Format } from "../render.js";

interface DriftObject {
  apiVersion: string;
  kind: string;
  namespace: string | null;
  name: string;
  state: string;
  patch: unknown[] | null;
  error: string | null;
  scope: string | null;
}
interface Report {
  bundleVersion: number;
  trigger: string;
  lastChecked: string | null;
  drifted: boolean;
  summary: { inSync: number; modified: number; missing: number; unknown: number };
  objects: DriftObject[];
}
interface Settings {
  enabled: boolean;
  intervalSeconds: number;
  ignore: { kind: string; name: string | null; namespace: string | null; pointers: string[] }[];
  updatedBy: string | null;
  updatedAt: string | null;
}

const base = (id: string) => `/v1/clusters/${encodeURIComponent(id)}`;

/** Reads a file, or stdin for "-". */
async function readInput(file: string): Promise<string> {
  if (file !== "-") return readFile(file, "utf8").catch((err: NodeJS.ErrnoException) => {
    throw new CliError(`cannot read ${file}: ${err.code ?? err.message}`, EXIT.usage);
  });
  const parts: Buffer[] = [];
  for await (const c of process.stdin) parts.push(c as Buffer);
  return Buffer.concat(parts).toString("utf8");
}

export async function driftPut(cluster: string, file: string, o: { output: Format }): Promise<void> {
  const hub = Hub.fromConfig();
  const c = await hub.findCluster(cluster);
  const res = await hub.raw("PUT", `${base(c.id)}/desired-state`, { text: { body: await readInput(file), type: "application/yaml" } });
  const r = JSON.parse(res.text) as { bundle: { version: number; objectCount: number }; created: boolean };
  if (await printData(o.output, r)) return;
  process.stdout.write(r.created ? `Stored as version ${r.bundle.version} (${r.bundle.objectCount} objects).\n` : `Unchanged: the same as version ${r.bundle.version}.\n`);
}

export async function driftGet(cluster: string, o: { output: Format; version?: string }): Promise<void> {
  const hub = Hub.fromConfig();
  const c = await hub.findCluster(cluster);
  const r = await hub.json<{ bundle: { version: number; uploadedBy: string; uploadedAt: string }; objects: { apiVersion: string; kind: string; namespace: string | null; name: string; document: number }[] }>(
    "GET",
    `${base(c.id)}/desired-state${o.version ? `?version=${encodeURIComponent(o.version)}` : ""}`,
  );
  if (await printData(o.output, r)) return;
  process.stdout.write(`Version ${r.bundle.version}, uploaded by ${r.bundle.uploadedBy} ${ago(r.bundle.uploadedAt)}\n`);
  await printTable(["DOC", "KIND", "NAMESPACE", "NAME", "API VERSION"], r.objects.map((x) => [String(x.document), x.kind, x.namespace ?? "-", x.name, x.apiVersion]));
}

export async function driftEnable(cluster: string, on: boolean, o: { output: Format; interval?: string; ignore?: string }): Promise<void> {
  const hub = Hub.fromConfig();
  const c = await hub.findCluster(cluster);
  const current = await hub.json<Settings>("GET", `${base(c.id)}/reconciliation`);
  const intervalSeconds = o.interval === undefined ? current.intervalSeconds : Number(o.interval);
  if (!Number.isInteger(intervalSeconds) || intervalSeconds < 0) throw new CliError(`--interval must be whole seconds, got "${o.interval}"`, EXIT.usage);
  let ignore = current.ignore.map((r) => ({ kind: r.kind, ...(r.name ? { name: r.name } : {}), ...(r.namespace ? { namespace: r.namespace } : {}), pointers: r.pointers }));
  if (o.ignore !== undefined) {
    try {
      ignore = JSON.parse(await readInput(o.ignore)) as typeof ignore;
    } catch (err) {
      throw new CliError(`--ignore must name a JSON file of rules [{"kind", "name"?, "namespace"?, "pointers"}]: ${(err as Error).message}`, EXIT.usage);
    }
  }
  const s = await hub.json<Settings>("PUT", `${base(c.id)}/reconciliation`, { enabled: on, intervalSeconds, ignore });
  if (await printData(o.output, s)) return;
  process.stdout.write(`Drift detection of ${c.name} is ${s.enabled ? color().green("on") : "off"} (every ${s.intervalSeconds} s, ${s.ignore.length} ignore rule(s)).\n`);
}

async function printReport(r: Report): Promise<void> {
  const c = color();
  const paint = (s: string) => (s === "in_sync" ? c.green(s) : s === "unknown" ? c.yellow(s) : c.red(s));
  printFields([
    ["Checked", `${ago(r.lastChecked)} (${r.trigger.replace("_", " ")}, desired state version ${r.bundleVersion})`],
    ["Summary", `${r.summary.inSync} in sync, ${r.summary.modified} modified, ${r.summary.missing} missing, ${r.summary.unknown} unknown`],
    ["Drift", r.drifted ? c.red("yes") : "no"],
  ]);
  await printTable(
    ["KIND", "NAMESPACE", "NAME", "STATE", "DETAIL"],
    r.objects.map((o) => [o.kind, o.namespace ?? "-", o.name, paint(o.state), o.state === "modified" ? JSON.stringify(o.patch) : o.error ? `${o.error}${o.scope ? ` — ${o.scope}` : ""}` : ""]),
  );
}

export async function driftCheck(cluster: string, o: { output: Format }): Promise<void> {
  const hub = Hub.fromConfig();
  const c = await hub.findCluster(cluster);
  const res = await hub.raw("POST", `${base(c.id)}/drift/check`, { timeoutMs: 120_000 });
  const r = JSON.parse(res.text) as Report;
  if (await printData(o.output, r)) return;
  await printReport(r);
}

export async function driftReport(cluster: string, o: { output: Format }): Promise<void> {
  const hub = Hub.fromConfig();
  const c = await hub.findCluster(cluster);
  const r = await hub.json<Report>("GET", `${base(c.id)}/drift`);
  if (await printData(o.output, r)) return;
  await printReport(r);
}
