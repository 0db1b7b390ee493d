/**
 * The hub as a Helm chart repository for the edge chart, so the install
 * command an invite prints needs nothing but the hub URL:
 *
 *   GET /charts/index.yaml                  the repository index (one entry)
 *   GET /charts/daalu-edge-<version>.tgz    the packaged chart
 *
 *   helm install daalu-edge daalu-edge --repo <hub>/charts --version <v> …
 *
 * Public (no token): a chart holds nothing secret, and helm sends none. The
 * chart is packaged once, at start, from GATEWAY_EDGE_CHART_DIR (the repo's
 * deploy/daalu-edge) into a gzipped tar in memory, the way `helm package`
 * lays it out (every file under `<chart name>/`); its version is Chart.yaml's,
 * which is the edge release this hub considers current. Entries carry a fixed
 * mtime and no owner, so the same chart gives the same bytes and digest on
 * every gateway replica. Register with `app.register(chartsPlugin, { dir, logger })`.
 */
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { create as createTar } from "tar";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import type { Logger } from "@daalu/runtime";
import { RouteNotFoundError } from "../errors.js";
import { PUBLIC } from "./route-kit.js";

export const CHARTS_PATH = "/charts";

export interface PackagedChart {
  name: string;
  version: string;
  /** `<name>-<version>.tgz`, also its path under /charts. */
  file: string;
  tgz: Buffer;
  /** sha256 of the .tgz, hex (the index's `digest`). */
  digest: string;
  /** The repository's index.yaml. */
  indexYaml: string;
}

/** Helm's chart names and SemVer 2 versions (what `helm package` accepts). */
const NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SEMVER_RE = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;
/** Fixed entry mtime: the archive's bytes depend on the chart's files only. */
const EPOCH = new Date("2000-01-01T00:00:00Z");

/**
 * The chart's .helmignore, in the subset `helm package` users write: `dir/`
 * skips a directory, any other line is a glob (`*`, `?`) on a file's name.
 */
async function ignoreRules(dir: string): Promise<(name: string, isDir: boolean) => boolean> {
  const lines = (await readFile(path.join(dir, ".helmignore"), "utf8").catch(() => ""))
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  const glob = (g: string) => new RegExp(`^${g.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]")}$`);
  const dirs = lines.filter((l) => l.endsWith("/")).map((l) => glob(l.slice(0, -1)));
  const files = lines.filter((l) => !l.endsWith("/")).map(glob);
  return (name, isDir) => (isDir ? dirs : files).some((re) => re.test(name));
}

async function filesUnder(dir: string, ignored: (name: string, isDir: boolean) => boolean, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path.join(dir, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory() && !ignored(e.name, true)) out.push(...(await filesUnder(dir, ignored, p)));
    else if (e.isFile() && !ignored(e.name, false)) out.push(p);
  }
  return out.sort();
}

/** The chart's Chart.yaml, its name and version checked. */
async function chartMeta(dir: string): Promise<{ meta: Record<string, unknown> | null; name: string; version: string }> {
  const meta = parseYaml(await readFile(path.join(dir, "Chart.yaml"), "utf8")) as Record<string, unknown> | null;
  const name = String(meta?.["name"] ?? "");
  const version = String(meta?.["version"] ?? "");
  if (!NAME_RE.test(name)) throw new Error(`${dir}/Chart.yaml: name "${name}" is not a chart name`);
  if (!SEMVER_RE.test(version)) throw new Error(`${dir}/Chart.yaml: version "${version}" is not SemVer 2`);
  return { meta, name, version };
}

/** The edge release the hub offers: the version of the chart in `dir` (cluster rows compare their edge's against it). */
export async function chartVersion(dir: string): Promise<string> {
  return (await chartMeta(dir)).version;
}

/** The chart's version and appVersion (the labels a generated RBAC patch carries, as the chart renders them). */
export async function chartVersions(dir: string): Promise<{ version: string; appVersion: string }> {
  const { meta, version } = await chartMeta(dir);
  return { version, appVersion: String(meta?.["appVersion"] ?? version) };
}

/** Packages the chart in `dir` and builds the repository index for it. */
export async function packageChart(dir: string, now = new Date()): Promise<PackagedChart> {
  const { meta, name, version } = await chartMeta(dir);
  const chunks: Buffer[] = [];
  // tar (node-tar, npm's own) writes the ustar/pax entries helm reads; gzip through its minizlib.
  const pack = createTar({ gzip: true, cwd: dir, prefix: name, portable: true, mtime: EPOCH }, await filesUnder(dir, await ignoreRules(dir)));
  for await (const c of pack as AsyncIterable<Buffer>) chunks.push(Buffer.from(c));
  const tgz = Buffer.concat(chunks);
  const digest = createHash("sha256").update(tgz).digest("hex");
  const file = `${name}-${version}.tgz`;
  const entry = { ...meta, digest, created: now.toISOString(), urls: [file] };
  const indexYaml = toYaml({ apiVersion: "v1", entries: { [name]: [entry] }, generated: now.toISOString() });
  return { name, version, file, tgz, digest, indexYaml };
}

export interface ChartsOptions {
  /** The chart's directory (GATEWAY_EDGE_CHART_DIR). */
  dir: string;
  logger: Logger;
}

export async function chartsPlugin(app: FastifyInstance, opts: ChartsOptions): Promise<void> {
  const chart = await packageChart(opts.dir);
  opts.logger.info({ chart: chart.name, version: chart.version, bytes: chart.tgz.length, digest: chart.digest }, "serving the edge chart as a Helm repository at /charts");
  app.get(`${CHARTS_PATH}/index.yaml`, { config: PUBLIC }, (_req, reply) =>
    reply.header("content-type", "application/x-yaml").header("cache-control", "no-cache").send(chart.indexYaml),
  );
  app.get<{ Params: { file: string } }>(`${CHARTS_PATH}/:file`, { config: PUBLIC }, (req, reply) => {
    if (req.params.file !== chart.file) throw new RouteNotFoundError(req.method, req.url);
    return reply.header("content-type", "application/gzip").header("etag", `"${chart.digest}"`).header("cache-control", "public, max-age=300").send(chart.tgz);
  });
}
