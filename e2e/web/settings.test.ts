/**
 * The RBAC and drift pages in a real browser (Debian's chromium through
 * playwright-core) against a hub whose cluster "prod" has a real edge agent on
 * loopback gRPC (no WireGuard: services/gateway/test/edge-agent.ts) in front
 * of the kube-double, and the drift service in this process:
 *
 *   chromium ─▶ gateway (web/dist, REST) ─NATS─▶ peering, tunnel-proxy ─▶ edge ─▶ kube-double
 *                                        └─NATS─▶ drift ─▶ tunnel-proxy …
 *
 * An admin sees the edge's scopes as the cluster grants them, asks for `exec`,
 * gets the helm command and the manifest; the customer applies the manifest
 * (the real `kubectl create -f -` against the double) and the page shows the
 * scope granted and the change applied. On the Drift tab the admin uploads a
 * desired state, turns detection on and checks: the page lists the modified
 * Deployment with its patch and the unreadable Secret with the scope that
 * fixes it. A viewer sees both pages without the controls that change
 * anything. Every page passes axe and has no CSP violation.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Browser, Locator, Page } from "playwright-core";
import { createLogger } from "@daalu/runtime";
import { driftService, type RunningDrift } from "@daalu/drift/service";
import { ensureUser, openGatewayStore } from "@daalu/gateway";
import { startEdgeWorld } from "../../services/gateway/test/edge-agent.js";
import { assertAccessible, assertNoProblems, browserSkipReason, launchBrowser, openTab, screenshot, signInAs, type Tab } from "./browser.js";

const skip = browserSkipReason();

const DESIRED = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 2
---
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: shop
stringData:
  password: page-hunter2
`;

describe("the RBAC and drift pages in chromium", { skip }, () => {
  let world: Awaited<ReturnType<typeof startEdgeWorld>>;
  let drift: RunningDrift;
  let browser: Browser;
  const password = { alice: "", victor: "" };
  const cleanups: (() => unknown)[] = [];

  before(async () => {
    world = await startEdgeWorld();
    cleanups.push(() => world.env.cleanup(), () => world.stack.stop(), () => world.gw.close());
    drift = await driftService.start(driftService.loadConfig({ ...world.env.env, DRIFT_GRPC_ADDR: "off", DRIFT_SCHEDULE_TICK: "0s" }), createLogger("drift", "silent"));
    cleanups.push(() => drift.stop());
    world.stack.kube.store.put({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace: "shop" }, spec: { replicas: 5 } });
    const store = await openGatewayStore(world.env.databaseUrl, { poolSize: 1 });
    try {
      password.alice = (await ensureUser(store, "acme", "alice", "admin")) ?? "";
      password.victor = (await ensureUser(store, "acme", "victor", "viewer")) ?? "";
    } finally {
      await store.close();
    }
    browser = await launchBrowser();
    cleanups.push(() => browser.close());
  }, { timeout: 120_000 });
  after(async () => {
    for (const f of cleanups.reverse()) {
      try {
        await f();
      } catch {
        // keep cleaning up
      }
    }
  });

  async function signedIn(user: keyof typeof password): Promise<Tab> {
    const tab = await openTab(browser, world.gw.url);
    await signInAs(tab.page, "acme", user, password[user]);
    return tab;
  }
  const press = async (l: Locator, key: string) => {
    await l.focus();
    await l.page().keyboard.press(key);
  };
  const scopeRow = (page: Page, name: string) => page.locator(`tr[data-scope="${name}"]`);

  test("RBAC: the admin asks for exec, applies the generated manifest in the cluster, and the page shows it granted", { timeout: 120_000 }, async () => {
    const tab = await signedIn("alice");
    const { page } = tab;
    await page.goto(`/settings/clusters/${world.cluster}/rbac`);
    await page.getByRole("heading", { name: /Settings → Clusters → prod → RBAC/ }).waitFor();
    await scopeRow(page, "read-only").and(page.locator("[data-effective=granted]")).waitFor();
    assert.equal(await scopeRow(page, "exec").getAttribute("data-effective"), "missing");
    assert.match(await scopeRow(page, "secrets").innerText(), /includes secrets/);
    await assertAccessible(page, "the RBAC page");

    // react-aria draws its own box over the native input: choose by keyboard, as a person tabbing would.
    await press(page.getByRole("checkbox", { name: /^exec — / }), "Space");
    await page.getByRole("button", { name: "Generate the change" }).click();
    const helm = page.getByTestId("rbac-helm");
    await helm.waitFor();
    assert.match(await helm.innerText(), /^helm upgrade daalu-edge daalu-edge --repo \S+\/charts --version \S+ --namespace daalu-edge --reuse-values .*exec/);
    await page.getByTestId("rbac-pending").waitFor();
    assert.equal(await scopeRow(page, "exec").locator("td").nth(2).innerText(), "yes", "asked for");
    await page.getByText("Or apply the ClusterRole and its binding yourself").click();
    await screenshot(page, "rbac-page");

    // The customer applies the manifest with kubectl; the hub applies nothing.
    const manifest = await page.getByTestId("rbac-manifest").innerText();
    assert.equal(world.stack.kube.store.list("clusterroles").length, 0);
    const dir = mkdtempSync(path.join(tmpdir(), "rbac-page-"));
    try {
      const kubeconfig = path.join(dir, "admin.kubeconfig");
      writeFileSync(kubeconfig, world.stack.kube.kubeconfig({ token: "admin-token" }), { mode: 0o600 });
      // Asynchronously: the double answers from this process. --validate=false: the double's OpenAPI has no RBAC schemas.
      await new Promise<void>((resolve, reject) => {
        const child = execFile("kubectl", ["--kubeconfig", kubeconfig, "create", "--validate=false", "-f", "-"], { timeout: 60_000 }, (err, _out, stderr) => (err ? reject(new Error(`kubectl create: ${stderr}`)) : resolve()));
        child.stdin?.end(manifest);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.equal(world.stack.kube.store.list("clusterroles").length, 1, "the customer's kubectl applied the ClusterRole");

    await page.getByRole("button", { name: "Ask the edge again" }).click();
    await scopeRow(page, "exec").and(page.locator("[data-effective=granted]")).waitFor();
    await page.getByTestId("rbac-applied").waitFor();
    assertNoProblems(tab);
    await tab.context.close();
  });

  test("drift: the admin uploads the desired state, turns detection on and checks; the page lists what differs", { timeout: 120_000 }, async () => {
    const tab = await signedIn("alice");
    const { page } = tab;
    await page.goto(`/clusters/${world.cluster}/drift`);
    await page.getByRole("heading", { name: "Drift detection" }).waitFor();
    await page.getByText("No desired state has been uploaded for prod.").waitFor();
    await page.getByRole("textbox", { name: /Manifests/ }).fill(DESIRED);
    await page.getByRole("button", { name: "Upload as the next version" }).click();
    await page.getByTestId("desired-version").filter({ hasText: "Version 1: 2 objects, uploaded by user:alice" }).waitFor();

    const toggle = page.getByRole("switch", { name: /Drift detection for prod/ });
    assert.equal(await toggle.isChecked(), false);
    assert.equal(await page.getByRole("button", { name: "Check now" }).count(), 0, "no check while detection is off");
    await press(toggle, "Space");
    await page.getByRole("switch", { name: /Drift detection for prod: on, every 5 min/ }).waitFor();
    await page.getByRole("button", { name: "Check now" }).click();
    const summary = page.getByTestId("drift-summary");
    await summary.and(page.locator("[data-drifted=true]")).waitFor();
    assert.match(await summary.innerText(), /0 in sync, 1 modified, 1 unknown/);
    const modified = page.locator('tr[data-state="modified"]');
    assert.match(await modified.innerText(), /Deployment shop\/web/);
    assert.deepEqual(JSON.parse(await modified.locator("pre").innerText()), [{ op: "replace", path: "/spec/replicas", value: 2 }]);
    assert.match(await page.locator('tr[data-state="unknown"]').innerText(), /scope "secrets"/);
    assert.doesNotMatch(await page.content(), /page-hunter2/, "no Secret value on the page");
    await assertAccessible(page, "the drift tab");
    await screenshot(page, "drift-tab");

    await page.goto("/settings/clusters/reconciliation");
    await page.getByRole("switch", { name: /Drift detection for prod: on/ }).waitFor();
    await page.getByTestId("drift-summary").waitFor();
    await assertAccessible(page, "the reconciliation page");
    await screenshot(page, "reconciliation-page");
    assertNoProblems(tab);
    await tab.context.close();
  });

  test("a viewer reads both pages but changes nothing", { timeout: 60_000 }, async () => {
    const tab = await signedIn("victor");
    const { page } = tab;
    await page.goto("/settings/clusters/reconciliation");
    const toggle = page.getByRole("switch", { name: /Drift detection for prod/ });
    await toggle.waitFor();
    assert.equal(await toggle.isDisabled(), true);
    assert.equal(await page.getByRole("button", { name: "Check now" }).count(), 0);
    await page.goto(`/settings/clusters/${world.cluster}/rbac`);
    await page.getByText("Only an admin generates an RBAC change.").waitFor();
    assert.equal(await page.getByRole("button", { name: "Generate the change" }).count(), 0);
    assertNoProblems(tab);
    await tab.context.close();
  });
});
