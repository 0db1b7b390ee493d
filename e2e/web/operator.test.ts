/**
 * The operator app in a real browser (Debian's chromium through
 * playwright-core) against a running hub with a real netns edge:
 *
 *   chromium ─http─▶ gateway (serves web/dist, REST, SSE) ─NATS─▶ peering
 *     (hub WireGuard node, hub namespace), invite, audit, tunnel-proxy
 *     ─WireGuard─▶ edge `run` (edge namespace) ─▶ kube-double
 *
 * The flow, by keyboard alone: sign in; add a cluster; copy the helm
 * command; bootstrap the edge with the token it carries; the row turns green
 * without a reload, with an "update available" badge (the edge reports an
 * older release than the hub offers); open the detail page and see the node
 * list and copy the upgrade command; run
 * `get pods` in the kubectl panel; see its audit row; drop the event stream
 * (the gateway restarts) and cut the edge's egress meanwhile: the page says
 * it is reconnecting, resumes and shows the row red, one row, no reload;
 * delete the cluster. A viewer sees no
 * Add/Delete and the server refuses them when forced. Every page is checked by
 * axe (no serious or critical violation) and watched for CSP violations;
 * screenshots of the clusters page, the wizard and the detail page go to
 * test-results/screenshots/.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { EDGE_USER, defaultPolicy } from "@daalu/kube-double";
import pg from "pg";
import { eventually, setup } from "@daalu/testing";
import { ExitCode } from "@daalu/edge";
import { ensureUser, openGatewayStore } from "@daalu/gateway";
import { runEdge, secretData, startKube } from "../../edge/test/helpers.js";
import { startEdgeRun, WG_PORT } from "../edge-host.js";
import { startHubStack, type HubStack } from "../hub-stack.js";
import { e2eSkipReason, HUB_UNDERLAY_IP, Netns, type NsHost } from "../netns.js";
import { assertAccessible, assertNoProblems, browserSkipReason, launchBrowser, openTab, screenshot, signInAs, tabTo, type Tab } from "./browser.js";

const skip = e2eSkipReason() ?? browserSkipReason();
const SECRET = "daalu-edge-tunnel";
/** The users' generated passwords (startWorld). */
const PASSWORD = { alice: "", victor: "" };
/** Seconds, on a loaded 2-core machine: edge processes start slowly. */
const LIVE_MS = 90_000;

interface World {
  hub: HubStack;
  databaseUrl: string;
  net: Netns;
  edgeHost: NsHost;
  kube: Awaited<ReturnType<typeof startKube>>;
  edgeKubeconfig: string;
  browser: Browser;
}

const cleanups: (() => unknown)[] = [];

async function startWorld(): Promise<World> {
  const env = await setup();
  cleanups.push(() => env.cleanup());
  const net = await Netns.create(1);
  cleanups.push(() => net.cleanup());
  await net.hub.forwardUrls(env.databaseUrl, env.natsUrl);
  const kube = await startKube();
  cleanups.push(() => kube.close());
  const hub = await startHubStack(env, net.dir, {
    hubEndpoint: `${HUB_UNDERLAY_IP}:${WG_PORT}`,
    services: ["peering", "invite", "audit", "tunnel-proxy", "gateway"],
    peeringEnv: {
      PEERING_WG: "true",
      PEERING_WG_INTERFACE: net.ifname("dh"),
      PEERING_WG_BACKEND: "wireguard-go",
      PEERING_WG_PORT: String(WG_PORT),
      PEERING_HEALTH_INTERVAL: "300ms",
      // The egress cut shows as disconnected after 4 s without a sign of life (keepalive 1 s).
      PEERING_DISCONNECT_AFTER: "4s",
      PEERING_ALERT_AFTER: "8s",
      // The edge runs as 0.0.9 (EDGE_VERSION_OVERRIDE): supported, older than the release the hub offers.
      PEERING_EDGE_MIN_VERSION: "0.0.1",
    },
    serviceEnv: { audit: { AUDIT_GRPC_ADDR: "off", AUDIT_BATCH_WAIT: "5ms" } },
    netns: { peering: net.hub, "tunnel-proxy": net.hub },
  });
  cleanups.push(() => hub.stop());
  kube.kube.setRbac(EDGE_USER, [...defaultPolicy()[EDGE_USER]!, { apiGroups: [""], resources: ["secrets"], resourceNames: [SECRET], verbs: ["get"], namespaces: ["daalu-edge"] }]);
  const edgeHost = net.edges[0]!;
  await edgeHost.forward(kube.kube.port, { host: "127.0.0.1", port: kube.kube.port });
  const edgeKubeconfig = path.join(net.dir, "edge-kubeconfig.yaml");
  writeFileSync(edgeKubeconfig, kube.kube.kubeconfig({ token: "edge-token", namespace: "daalu-edge" }));

  const store = await openGatewayStore(env.databaseUrl, { poolSize: 1 });
  try {
    PASSWORD.alice = (await ensureUser(store, hub.tenant, "alice", "admin")) ?? "";
    PASSWORD.victor = (await ensureUser(store, hub.tenant, "victor", "viewer")) ?? "";
    assert.ok(PASSWORD.alice && PASSWORD.victor, "both users are new");
  } finally {
    await store.close();
  }
  const browser = await launchBrowser();
  cleanups.push(() => browser.close());
  return { hub, databaseUrl: env.databaseUrl, net, edgeHost, kube, edgeKubeconfig, browser };
}

/** Signs in as one of the two users by keyboard. */
const signIn = (page: Page, username: keyof typeof PASSWORD) => signInAs(page, "acme", username, PASSWORD[username]);

const row = (page: Page, id: string) => page.locator(`[role=row][data-cluster-id="${id}"]`);

describe("the operator app in chromium, against a hub with a real WireGuard edge", { skip }, () => {
  let w: World;
  before(async () => {
    w = await startWorld();
  }, { timeout: 180_000 });
  after(async () => {
    for (const f of cleanups.reverse()) {
      try {
        await f();
      } catch {
        // keep cleaning up
      }
    }
  });

  test("an admin adds a cluster, watches it connect, uses it, sees it fail and deletes it — by keyboard", { timeout: 600_000 }, async (t) => {
    const tab: Tab = await openTab(w.browser, w.hub.gatewayUrl);
    const { page } = tab;
    // Sign-in page first: accessible, SSO only when configured.
    await page.goto("/signin");
    await page.getByRole("heading", { name: "Sign in to Daalu Federation" }).waitFor();
    await assertAccessible(page, "sign-in page");
    await signIn(page, "alice");
    await page.locator("html[data-ready=true]").waitFor({ timeout: 15_000 });
    await page.getByText("No clusters yet.").waitFor();
    await assertAccessible(page, "clusters page (empty)");
    // Everything below happens in this one document: no reload, no full navigation.
    await page.evaluate("window.__sameDocument = true");

    // Add cluster: the name is checked as it is typed, then Generate invite.
    await tabTo(page, "button:text-is('Add cluster')");
    await page.keyboard.press("Enter");
    const name = page.getByRole("textbox", { name: "Cluster name" });
    await name.waitFor();
    assert.ok(await name.evaluate((el) => el === el.ownerDocument.activeElement), "the wizard focuses the name");
    await page.keyboard.type("Prod_EU");
    await page.getByText("Use lower-case letters only.").waitFor();
    await page.keyboard.press("ControlOrMeta+a");
    await page.keyboard.type("prod-eu");
    await page.getByText("Use lower-case letters only.").waitFor({ state: "detached" });
    await page.getByTestId("subnet").getByText(/no tunnel subnet yet/).waitFor();
    await page.keyboard.press("Enter");
    const helm = page.getByTestId("helm-command");
    await helm.waitFor();
    await assertAccessible(page, "add-cluster wizard");
    await screenshot(page, "add-wizard");

    // Copy the helm command (the clipboard holds exactly the command shown).
    await tabTo(page, "button[aria-label='Copy helm command']");
    await page.keyboard.press("Enter");
    await page.getByText("Copied.").waitFor();
    const copied = await page.evaluate<string>("navigator.clipboard.readText()");
    assert.equal(copied, (await helm.textContent())?.trim());
    const token = /--set bootstrap\.token=(\S+)/.exec(copied)?.[1];
    assert.ok(token && token.startsWith("dfi1_"), copied);
    assert.match(copied, new RegExp(`--set hub\\.url=${w.hub.gatewayUrl.replace(/[.:/]/g, "\\$&")}`));
    const id = await page.locator("[role=row][data-cluster-id]").first().getAttribute("data-cluster-id");
    assert.ok(id);

    // The customer's side: bootstrap with the copied token, then the edge's run.
    const boot = await runEdge("bootstrap", { EDGE_KUBECONFIG: w.kube.bootstrapKubeconfig, EDGE_NAMESPACE: "daalu-edge", EDGE_SECRET_NAME: SECRET, EDGE_HUB_URL: w.hub.gatewayUrl, EDGE_BOOTSTRAP_TOKEN: token });
    assert.equal(boot.code, ExitCode.Ok, boot.output);
    assert.ok(secretData(w.kube.kube, SECRET)?.["tunnel.json"]);
    const edge = startEdgeRun(w.edgeHost, { EDGE_KUBECONFIG: w.edgeKubeconfig, EDGE_NAMESPACE: "daalu-edge", EDGE_SECRET_NAME: SECRET, EDGE_WG_INTERFACE: w.net.ifname("de"), EDGE_PROBE_ADDR: "127.0.0.1:8081", EDGE_KEEPALIVE: "1", EDGE_VERSION_OVERRIDE: "0.0.9" });
    cleanups.push(() => edge.kill());

    // The wizard waits, then turns into the green row — no reload.
    const started = Date.now();
    await row(page, id).and(page.locator("[data-status=connected]")).waitFor({ timeout: LIVE_MS });
    await page.getByRole("dialog").waitFor({ state: "detached", timeout: 10_000 });
    t.diagnostic(`row green ${Date.now() - started} ms after the edge started (bootstrap ${boot.elapsedMs} ms)`);
    assert.equal(await page.evaluate("window.__sameDocument"), true, "the page was not reloaded");
    await row(page, id).getByText("Tunnel up").waitFor();
    await row(page, id).getByText("API reachable").waitFor();
    // The edge is behind the hub's release: the row says so, and the detail page has the command.
    const served = (await w.hub.api("GET", `/v1/clusters/${id}`)).body.cluster as { latestEdgeVersion: string; upgradeCommand: string };
    assert.equal(served.upgradeCommand, `helm upgrade daalu-edge daalu-edge --repo ${w.hub.gatewayUrl}/charts --version ${served.latestEdgeVersion} -n daalu-edge --reuse-values`);
    await row(page, id).getByText("0.0.9", { exact: true }).waitFor({ timeout: 30_000 });
    await row(page, id).getByText(`update available: ${served.latestEdgeVersion}`).waitFor();
    await assertAccessible(page, "clusters page");
    await screenshot(page, "clusters");

    // Detail: the node list.
    await tabTo(page, `a[href="/clusters/${id}"]`);
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "prod-eu", level: 1 }).waitFor();
    const nodes = page.getByTestId("nodes");
    for (const n of ["cp-1", "worker-1", "worker-2"]) await nodes.getByRole("cell", { name: n, exact: true }).waitFor({ timeout: 30_000 });
    // This hub's public URL is plain http: kubectl would send it no token, so no kubeconfig is offered, and the page says why.
    await page.getByTestId("kubeconfig-needs-https").getByText(/kubectl sends a token only over https/).waitFor();
    assert.equal(await page.getByRole("link", { name: "Download kubeconfig" }).count(), 0);
    // The upgrade command, copied exactly as shown and as the hub serves it.
    await page.getByText(`update available: ${served.latestEdgeVersion}`).waitFor();
    const upgrade = page.getByTestId("upgrade-command");
    assert.equal((await upgrade.textContent())?.trim(), served.upgradeCommand);
    await tabTo(page, "button[aria-label='Copy upgrade command']");
    await page.keyboard.press("Enter");
    await page.getByText("Copied.").waitFor();
    assert.equal(await page.evaluate<string>("navigator.clipboard.readText()"), served.upgradeCommand);

    // The kubectl panel: get pods, drawn as a terminal.
    await tabTo(page, "input[name=kubectl]");
    await page.keyboard.press("ControlOrMeta+a");
    await page.keyboard.type("get pods");
    await page.keyboard.press("Enter");
    const out = page.getByTestId("kubectl-result").getByTestId("terminal").first();
    await out.getByText(/nginx/).waitFor({ timeout: 60_000 });
    assert.match((await out.textContent()) ?? "", /NAME\s+READY\s+STATUS/);
    // A refused verb is explained in words.
    await page.keyboard.press("ControlOrMeta+a");
    await page.keyboard.type("exec -it nginx -- sh");
    await page.keyboard.press("Enter");
    await page.getByTestId("kubectl-refusal").getByText(/exec is not allowed from the panel/).waitFor();
    await assertAccessible(page, "cluster detail");
    await screenshot(page, "cluster-detail");

    // Its audit row, on the Audit tab (arrow keys move between tabs).
    await tabTo(page, "[role=tab][aria-selected=true]");
    await page.keyboard.press("ArrowRight");
    await page.waitForURL(new RegExp(`/clusters/${id}/audit$`));
    await page.locator("tr[data-verb=kubectl]").getByText("get pods").first().waitFor({ timeout: 30_000 });
    await assertAccessible(page, "audit tab");

    // The event stream drops (the gateway restarts) and the edge's egress is cut meanwhile: the page says it
    // is reconnecting, resumes after the last event it saw and shows the row red — one row, no reload.
    await tabTo(page, "a[href='/clusters']");
    await page.keyboard.press("Enter");
    await row(page, id).and(page.locator("[data-status=connected]")).waitFor();
    await page.locator("[data-stream=open]").waitFor();
    await w.hub.process("gateway").stop();
    await page.locator("[data-stream=reconnecting]").getByText(/Reconnecting/).waitFor({ timeout: 30_000 });
    const cut = Date.now();
    await w.edgeHost.cutEgress();
    const db = new pg.Client({ connectionString: w.databaseUrl });
    db.on("error", () => undefined);
    await db.connect();
    try {
      await eventually(async () => assert.equal((await db.query("select status from peering.clusters where id = $1", [id])).rows[0]?.status, "disconnected"), { timeoutMs: LIVE_MS });
    } finally {
      await db.end();
    }
    t.diagnostic(`disconnected ${Date.now() - cut} ms after the egress cut (threshold 4 s), while the gateway was down`);
    await w.hub.respawn("gateway").ready;
    const back = Date.now();
    await row(page, id).and(page.locator("[data-status=disconnected]")).waitFor({ timeout: LIVE_MS });
    await page.locator("[data-stream=open]").waitFor();
    t.diagnostic(`row red ${Date.now() - back} ms after the gateway was back (the stream resumed)`);
    await row(page, id).getByText("Tunnel down").waitFor();
    assert.equal(await page.locator("[role=row][data-cluster-id]").count(), 1, "no duplicate row");
    assert.equal(await page.locator("[role=table][data-total]").getAttribute("data-total"), "1", "the table counts one row");
    assert.equal(await page.evaluate("window.__sameDocument"), true, "the page was not reloaded");

    // Delete, with the typed confirmation.
    await tabTo(page, `a[href="/clusters/${id}"]`);
    await page.keyboard.press("Enter");
    await tabTo(page, "button:text-is('Delete cluster')");
    await page.keyboard.press("Enter");
    await page.getByRole("alertdialog").waitFor();
    await assertAccessible(page, "delete confirmation");
    await page.keyboard.type("prod-eu");
    await page.keyboard.press("Enter");
    await page.waitForURL(/\/clusters$/);
    await row(page, id).waitFor({ state: "detached" });
    await page.getByText("No clusters yet.").waitFor();
    assert.equal((await w.hub.api("GET", `/v1/clusters/${id}`)).status, 404, "gone on the hub too");
    assertNoProblems(tab);
    await tab.context.close();
  });

  test("a viewer sees no Add or Delete, and the server refuses them when forced", { timeout: 180_000 }, async () => {
    const created = await w.hub.api("POST", "/v1/clusters", { name: "viewer-sees" });
    assert.equal(created.status, 201);
    const id = created.body.cluster.id as string;
    const tab = await openTab(w.browser, w.hub.gatewayUrl);
    const { page } = tab;
    await signIn(page, "victor");
    await row(page, id).waitFor();
    assert.equal(await page.getByRole("button", { name: "Add cluster" }).count(), 0);
    await tabTo(page, `a[href="/clusters/${id}"]`);
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "viewer-sees", level: 1 }).waitFor();
    await page.getByRole("heading", { name: "Actions" }).waitFor();
    for (const hidden of ["Delete cluster", "Re-enroll"]) assert.equal(await page.getByRole("button", { name: hidden }).count(), 0, hidden);
    assert.equal(await page.getByRole("link", { name: "Download kubeconfig" }).count(), 0);
    assert.equal(await page.getByRole("heading", { name: "Run a kubectl command" }).count(), 0);
    await assertAccessible(page, "cluster detail (viewer)");

    // Forced from the page, with the session's own CSRF token: refused.
    const forced = await page.evaluate<{ add: number; addReason: string; del: number; delReason: string }, string>(async (clusterId) => {
      const s = (await (await fetch("/v1/session")).json()) as { csrfToken: string };
      const h = { "content-type": "application/json", "x-csrf-token": s.csrfToken };
      const add = await fetch("/v1/clusters", { method: "POST", headers: h, body: JSON.stringify({ name: "forced" }) });
      const del = await fetch(`/v1/clusters/${clusterId}`, { method: "DELETE", headers: h });
      return { add: add.status, addReason: ((await add.json()) as { reason: string }).reason, del: del.status, delReason: ((await del.json()) as { reason: string }).reason };
    }, id);
    assert.deepEqual(forced, { add: 403, addReason: "ADMIN_REQUIRED", del: 403, delReason: "ADMIN_REQUIRED" });
    assert.equal((await w.hub.api("GET", `/v1/clusters/${id}`)).status, 200, "still there");
    assertNoProblems(tab);
    await tab.context.close();
  });
});
