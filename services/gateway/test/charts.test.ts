/**
 * The hub serves the edge chart as a Helm repository, and the command an
 * invite prints works as printed: the real helm pulls and renders the chart
 * from a running hub (gateway + invite + peering) with exactly the repository
 * reference the invite printed, and with the reference of the upgrade
 * command a cluster row shows.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { parse } from "yaml";
import { findHelm, HELM_MISSING, REPO_ROOT, runHelm, setup } from "@daalu/testing";
import { assertProblem, http, seedTenant, startStack } from "./helpers.js";

const CHART_VERSION = (parse(readFileSync(path.join(REPO_ROOT, "deploy/daalu-edge/Chart.yaml"), "utf8")) as { version: string }).version;

/** A free loopback port, so the invite service can print the gateway's URL before the gateway starts. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

async function hubWithInvite(t: { after(fn: () => Promise<void>): void }): Promise<{ url: string; printed: string; token: string; upgrade: string }> {
  const env = await setup();
  t.after(() => env.cleanup());
  const tokens = await seedTenant(env, "acme");
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const stack = await startStack(env, { invite: { INVITE_HUB_URL: url }, peering: { PEERING_HUB_URL: url }, gateway: { GATEWAY_LISTEN: `127.0.0.1:${port}` } });
  t.after(() => stack.stop());
  const r = await http(url, "POST", "/v1/clusters", { token: tokens.admin, json: { name: "prod-eu-1" } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { url, printed: r.body.helmCommand as string, token: r.body.token as string, upgrade: r.body.cluster.upgradeCommand as string };
}

test("index.yaml and the .tgz are public; the index names the version of deploy/daalu-edge and the archive's sha256", async (t) => {
  const { url } = await hubWithInvite(t);
  const idx = await fetch(`${url}/charts/index.yaml`);
  assert.equal(idx.status, 200);
  const index = parse(await idx.text()) as { apiVersion: string; entries: Record<string, Array<{ name: string; version: string; digest: string; urls: string[] }>> };
  assert.equal(index.apiVersion, "v1");
  assert.deepEqual(Object.keys(index.entries), ["daalu-edge"]);
  const [entry] = index.entries["daalu-edge"]!;
  assert.equal(entry!.version, CHART_VERSION);
  assert.deepEqual(entry!.urls, [`daalu-edge-${CHART_VERSION}.tgz`]);
  const tgz = await fetch(new URL(entry!.urls[0]!, `${url}/charts/`));
  assert.equal(tgz.status, 200);
  assert.equal(tgz.headers.get("content-type"), "application/gzip");
  assert.equal(createHash("sha256").update(Buffer.from(await tgz.arrayBuffer())).digest("hex"), entry!.digest);
  assertProblem(await http(url, "GET", "/charts/daalu-edge-0.0.0.tgz"), 404, "ROUTE_NOT_FOUND");
});

test("the printed install command and a row's upgrade command name the hub's repository, and helm pulls the chart with each as printed", { skip: findHelm() ? false : HELM_MISSING }, async (t) => {
  const { url, printed, token, upgrade } = await hubWithInvite(t);
  const argv = printed.split(" ");
  assert.deepEqual(argv.slice(0, 3), ["helm", "install", "daalu-edge"]);
  // The chart reference: everything between the release name and --namespace.
  const chartRef = argv.slice(3, argv.indexOf("--namespace"));
  assert.deepEqual(chartRef, ["daalu-edge", "--repo", `${url}/charts`, "--version", CHART_VERSION]);

  const dir = mkdtempSync(path.join(tmpdir(), "helm-pull-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pull = await runHelm(["pull", ...chartRef, "--destination", dir]);
  assert.equal(pull.code, 0, pull.stderr);
  assert.deepEqual(readdirSync(dir), [`daalu-edge-${CHART_VERSION}.tgz`]);
  const shown = await runHelm(["show", "chart", path.join(dir, `daalu-edge-${CHART_VERSION}.tgz`)]);
  assert.equal((parse(shown.stdout) as { version: string }).version, CHART_VERSION);

  // The printed command itself, with `install` swapped for `template` (no cluster here).
  const rendered = await runHelm(["template", ...argv.slice(2)]);
  assert.equal(rendered.code, 0, rendered.stderr);
  const objs = rendered.stdout.split(/^---$/m).map((d) => parse(d) as { kind?: string; metadata?: { name: string }; stringData?: Record<string, string> } | null).filter((o) => o?.kind);
  assert.ok(objs.some((o) => o!.kind === "Deployment" && o!.metadata?.name === "daalu-edge"));
  assert.equal(objs.find((o) => o!.kind === "Secret")?.stringData?.["token"], token, "the printed token reaches the bootstrap Secret");
  assert.match(rendered.stdout, new RegExp(`helm.sh/chart: daalu-edge-${CHART_VERSION.replace(/\./g, "\\.")}`));

  // The row's upgrade command: the same release, chart reference and namespace, and helm pulls the chart from it too.
  const up = upgrade.split(" ");
  assert.deepEqual([...up.slice(0, 3), ...up.slice(up.indexOf("-n"))], ["helm", "upgrade", "daalu-edge", "-n", argv[argv.indexOf("--namespace") + 1], "--reuse-values"]);
  const upgradeRef = up.slice(3, up.indexOf("-n"));
  assert.deepEqual(upgradeRef, chartRef);
  const upDir = mkdtempSync(path.join(tmpdir(), "helm-pull-upgrade-"));
  t.after(() => rmSync(upDir, { recursive: true, force: true }));
  const upPull = await runHelm(["pull", ...upgradeRef, "--destination", upDir]);
  assert.equal(upPull.code, 0, upPull.stderr);
  const upShown = await runHelm(["show", "chart", path.join(upDir, `daalu-edge-${CHART_VERSION}.tgz`)]);
  assert.equal((parse(upShown.stdout) as { version: string }).version, CHART_VERSION);
});
