/**
 * `helm upgrade` of the daalu-edge chart, with the real helm: the released
 * chart (testdata/charts/daalu-edge-0.1.0.tgz, `helm package` of main's chart
 * when it shipped) rendered for its install, this chart rendered as the
 * upgrade (`--is-upgrade`) in the two ways helm computes an upgrade's values:
 *   - `--reset-then-reuse-values` (the command the README prints): this
 *     chart's defaults plus the user's values of the release;
 *   - `--reuse-values`: the OLD chart's values.yaml plus the user's values,
 *     so keys new in this chart are missing (emulated by rendering this
 *     chart's templates with the released values.yaml).
 * What an upgrade must keep: the tunnel Secret (the key and the address) is
 * the bootstrap Job's output, outside the release, owned by the agent's
 * ServiceAccount, so helm never overwrites or deletes it as long as that
 * account keeps its name; the Job does not run again (no token needed); the
 * Deployment's immutable selector is unchanged; the agent moves to the new
 * chart's edge version.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parse } from "yaml";
import { runHelm } from "@daalu/testing";
import { CHART, here, HUB, INSTALL, one, podOf, render, rulesOf, skip, type K8sObject } from "./chart-kit.js";

const RELEASED = path.resolve(here, "../../testdata/charts/daalu-edge-0.1.0.tgz");
const TUNNEL_SECRET = "daalu-edge-tunnel";
const names = (objs: K8sObject[]) => objs.map((o) => `${o.kind}/${o.metadata.name}`).sort();
const appVersion = () => String((parse(readFileSync(path.join(CHART, "Chart.yaml"), "utf8")) as { appVersion: string }).appVersion);

/** This chart's templates with the released chart's values.yaml: what `helm upgrade --reuse-values` renders. */
async function withReleasedValues<T>(fn: (chart: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(path.join(tmpdir(), "edge-chart-upgrade-"));
  try {
    const chart = path.join(dir, "daalu-edge");
    cpSync(CHART, chart, { recursive: true });
    const shown = await runHelm(["show", "values", RELEASED]);
    assert.equal(shown.code, 0, shown.stderr);
    writeFileSync(path.join(chart, "values.yaml"), shown.stdout);
    return await fn(chart);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The agent's env as name → value (valueFrom as "<from>"). */
function agentEnv(objs: K8sObject[]): Record<string, string> {
  const c = podOf(one(objs, "Deployment")).containers[0]!;
  return Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? "<from>"]));
}

test("helm upgrade from the released chart keeps the tunnel Secret and its owner, and does not bootstrap again", { skip }, async () => {
  const installed = await render([INSTALL], "daalu-edge", { chart: RELEASED });
  const upgraded = await render([INSTALL], "daalu-edge", { args: ["--is-upgrade"] });

  // The key lives outside the release: neither manifest has the tunnel Secret, so helm cannot overwrite or delete it.
  for (const objs of [installed, upgraded]) assert.ok(!objs.some((o) => o.kind === "Secret" && o.metadata.name === TUNNEL_SECRET), "the tunnel Secret is never a release object");
  // Its owner (garbage collection deletes the key with it) keeps its name; nothing the release had is dropped.
  assert.ok(upgraded.some((o) => o.kind === "ServiceAccount" && o.metadata.name === "daalu-edge"), "the Secret's owner, the agent's ServiceAccount, stays");
  const dropped = names(installed).filter((n) => !names(upgraded).includes(n));
  assert.deepEqual(dropped, ["Job/daalu-edge-bootstrap"], "only the install-time Job is not in the upgrade");
  // The agent reads the same Secret with the same rights; the Job never runs on upgrade (it was a post-install hook only).
  assert.equal(one(installed, "Job").metadata.annotations?.["helm.sh/hook"], "post-install");
  assert.equal(agentEnv(upgraded)["EDGE_SECRET_NAME"], TUNNEL_SECRET);
  assert.deepEqual(rulesOf(upgraded, "daalu-edge"), rulesOf(installed, "daalu-edge"));
  assert.deepEqual(rulesOf(upgraded, "daalu-edge-proxy"), rulesOf(installed, "daalu-edge-proxy"), "the default RBAC is unchanged by an upgrade");

  // The Deployment can be patched in place: the selector (immutable) is the same, Recreate keeps one key holder.
  const spec = (o: K8sObject[]) => one(o, "Deployment")["spec"] as { selector: unknown; strategy: { type: string } };
  assert.deepEqual(spec(upgraded).selector, spec(installed).selector);
  assert.equal(spec(upgraded).strategy.type, "Recreate");
  // The new edge version: the image follows this chart's appVersion unless image.tag was pinned.
  assert.equal(podOf(one(upgraded, "Deployment")).containers[0]!.image, `daalu/edge:${appVersion()}`);
});

test("helm upgrade needs no bootstrap token (it was spent at install), an install still does", { skip }, async () => {
  const upgraded = await render([], "daalu-edge", { args: ["--is-upgrade", "--set", `hub.url=${HUB}`] });
  assert.ok(!upgraded.some((o) => o.kind === "Job"), "no bootstrap Job on upgrade");
  assert.ok(!upgraded.some((o) => o.metadata.name === "daalu-edge-bootstrap-token"), "the spent token's Secret is dropped");
  const install = await runHelm(["template", "daalu-edge", CHART, "--set", `hub.url=${HUB}`]);
  assert.notEqual(install.code, 0);
  assert.match(install.stderr, /bootstrap\.token is required/);
});

test("helm upgrade --reuse-values (the released chart's values, without this chart's new keys) still configures every setting", { skip }, async () => {
  const reused = await withReleasedValues((chart) => render([INSTALL], "daalu-edge", { chart, args: ["--is-upgrade"] }));
  const fresh = await render([INSTALL], "daalu-edge", { args: ["--is-upgrade"] });
  const env = agentEnv(reused);
  for (const [k, v] of Object.entries(env)) assert.notEqual(v, "", `${k} is set`);
  // Settings new since the released chart fall back to the same defaults the fresh values give.
  assert.deepEqual(env, agentEnv(fresh));
  assert.equal(env["EDGE_HUB_GOODBYE_PORT"], "7444");
  assert.deepEqual(rulesOf(reused, "daalu-edge-proxy"), rulesOf(fresh, "daalu-edge-proxy"));
  assert.equal(podOf(one(reused, "Deployment")).containers[0]!.image, `daalu/edge:${appVersion()}`);
});
