/**
 * Single sign-on in a real browser (Debian's chromium through playwright-core),
 * by keyboard alone:
 *
 *   chromium ─▶ gateway sign-in page ─▶ "Sign in with Test IdP" ─▶ a real
 *     OpenID provider (oidc-provider) and its login form ─▶ the gateway's
 *     callback (code + PKCE, state, nonce) ─▶ the clusters page, signed in
 *
 * The IdP's groups claim maps to the role: olivia (group daalu-ops) is an
 * operator, who sees no Add cluster and whose session the server treats as an
 * operator's; nora (no mapped group) is refused with a message on the sign-in
 * page; ada (daalu-admins) widens the tenant's subnet in Settings → Clusters →
 * Subnet, by keyboard. Every page passes axe and raises no CSP violation.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Browser } from "playwright-core";
import { freePort } from "@daalu/runtime";
import { generateKeyPair } from "@daalu/wireguard";
import { startStack, type Stack } from "@daalu/stack";
import { setup } from "@daalu/testing";
import { gatewayOidcEnv, startIdp, type TestIdp } from "../../services/gateway/test/oidc-idp.js";
import { assertAccessible, assertNoProblems, browserSkipReason, launchBrowser, openTab, screenshot, tabTo } from "./browser.js";

const skip = browserSkipReason();
const cleanups: (() => unknown)[] = [];
let stack: Stack;
let idp: TestIdp;
let browser: Browser;

describe("single sign-on in the browser", { skip, timeout: 180_000 }, () => {
  before(async () => {
    const env = await setup();
    cleanups.push(() => env.cleanup());
    const port = await freePort();
    const gwUrl = `http://127.0.0.1:${port}`;
    const client = { clientId: "daalu", clientSecret: "a-client-secret-for-tests-only", redirectUri: `${gwUrl}/v1/auth/oidc/callback` };
    idp = await startIdp(client);
    cleanups.push(() => idp.stop());
    idp.loginForm = true;
    idp.people.set("sub-olivia", { name: "Olivia Ops", username: "olivia", groups: ["staff", "daalu-ops"] });
    idp.people.set("sub-nora", { name: "Nora", username: "nora", groups: ["staff"] });
    idp.people.set("sub-ada", { name: "Ada Admin", username: "ada", groups: ["daalu-admins"] });
    const keyDir = mkdtempSync(path.join(os.tmpdir(), "daalu-oidc-"));
    cleanups.push(() => rmSync(keyDir, { recursive: true, force: true }));
    stack = await startStack({
      databaseUrl: env.databaseUrl,
      natsUrl: env.natsUrl,
      prefix: env.prefix,
      env: { ...env.env, LOG_LEVEL: "info" },
      services: ["peering", "invite", "gateway"],
      hubEndpoint: "127.0.0.1:51820",
      hubKeyDir: keyDir,
      gateway: { listen: `127.0.0.1:${port}` },
      serviceEnv: { gateway: gatewayOidcEnv(idp, client) },
      tenant: { id: "acme" },
    });
    cleanups.push(() => stack.stop());
    assert.equal(stack.gatewayUrl, gwUrl);
    browser = await launchBrowser();
    cleanups.push(() => browser.close());
  });

  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  /** From the app's sign-in page through the IdP's form, by keyboard; returns the tab. */
  async function signInThroughIdp(username: string) {
    const tab = await openTab(browser, stack.gatewayUrl);
    const { page } = tab;
    await page.goto("/clusters");
    await page.getByRole("link", { name: "Sign in with Test IdP" }).waitFor();
    await assertAccessible(page, "the sign-in page");
    await tabTo(page, "a.sso");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Test IdP" }).waitFor();
    assert.equal(new URL(page.url()).origin, idp.issuer, "the browser is at the IdP");
    await tabTo(page, "#username");
    await page.keyboard.type(username);
    await page.keyboard.press("Enter");
    return tab;
  }

  test("an IdP user whose group maps to operator lands on the clusters page as an operator", async () => {
    const tab = await signInThroughIdp("olivia");
    const { page } = tab;
    await page.getByText("Olivia Ops").waitFor();
    assert.equal(new URL(page.url()).pathname, "/clusters");
    assert.match((await page.locator(".who").textContent()) ?? "", /Olivia Ops\s*\(operator\)/);
    await page.getByRole("heading", { name: "Clusters" }).waitFor();
    assert.equal(await page.getByRole("button", { name: "Add cluster" }).count(), 0, "an operator sees no Add cluster");
    const session = await page.request.get("/v1/session");
    assert.equal(session.status(), 200);
    const me = (await session.json()) as { user: { username: string; role: string; tenantId: string } };
    assert.deepEqual([me.user.username, me.user.role, me.user.tenantId], ["olivia", "operator", "acme"]);
    // The server, not only the page, treats the session as an operator's.
    const refused = await page.request.put("/v1/subnet", { data: { cidr: "10.9.0.0/24" }, headers: { "x-csrf-token": (await session.json()).csrfToken } });
    assert.equal(refused.status(), 403);
    assert.equal(((await refused.json()) as { reason: string }).reason, "ADMIN_REQUIRED");
    await assertAccessible(page, "the clusters page after single sign-on");
    await screenshot(page, "sso-signed-in");
    // Sign out, by keyboard: back to the sign-in page, and the session is gone.
    await tabTo(page, "button:has-text('Sign out')");
    await page.keyboard.press("Enter");
    await page.getByRole("link", { name: "Sign in with Test IdP" }).waitFor();
    assert.equal((await page.request.get("/v1/session")).status(), 401, "the session ends at sign-out");
    assertNoProblems(tab);
    await tab.context.close();
  });

  test("an IdP user with no mapped group is refused with a message a person can act on", async () => {
    const tab = await signInThroughIdp("nora");
    const { page } = tab;
    const alert = page.getByRole("alert");
    await alert.waitFor();
    const text = (await alert.textContent()) ?? "";
    assert.match(text, /group|role/i, `the refusal says why: ${text}`);
    assert.equal((await page.request.get("/v1/session")).status(), 401, "no session for an unmapped user");
    await assertAccessible(page, "the sign-in page after a refused single sign-on");
    assertNoProblems(tab);
    await tab.context.close();
  });

  test("an admin widens the tenant subnet in the settings, by keyboard, and clusters keep their addresses", async () => {
    // A cluster, enrolled, gives the tenant its /24 and takes an address.
    const created = await fetch(`${stack.gatewayUrl}/v1/clusters`, {
      method: "POST",
      headers: { authorization: `Bearer ${stack.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "first" }),
    });
    assert.equal(created.status, 201, await created.clone().text());
    const { cluster, token } = (await created.json()) as { cluster: { id: string }; token: string };
    const redeemed = await fetch(`${stack.gatewayUrl}/v1/bootstrap`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token, publicKey: generateKeyPair().publicKey }),
    });
    assert.equal(redeemed.status, 200, await redeemed.clone().text());
    const tunnelIp = ((await (await fetch(`${stack.gatewayUrl}/v1/clusters/${cluster.id}`, { headers: { authorization: `Bearer ${stack.adminToken}` } })).json()) as { cluster: { tunnelIp: string } }).cluster.tunnelIp;
    assert.ok(tunnelIp, "the redeemed cluster has an address");
    const tab = await signInThroughIdp("ada");
    const { page } = tab;
    await page.getByText("Ada Admin").waitFor();
    await tabTo(page, "a[href='/settings/clusters/subnet']");
    await page.keyboard.press("Enter");
    const now = page.getByTestId("subnet-now");
    await now.waitFor();
    const before = (await now.textContent()) ?? "";
    const cidr = /(\d+\.\d+\.\d+\.\d+)\/24/.exec(before)?.[1];
    assert.ok(cidr, `a /24 is shown: ${before}`);
    assert.match(before, /1 of 254 addresses in use, 253 free/);
    await assertAccessible(page, "the subnet settings");
    // Choose /22 with the arrow keys (the first choice is /23), then confirm in the dialog.
    await tabTo(page, "[role='radio'][value$='/23'], input[type='radio'][value$='/23']");
    await page.keyboard.press("ArrowDown");
    const wider = `${cidr.replace(/\.\d+\.\d+$/, "")}.${Number(cidr.split(".")[2]) & ~3}.0/22`;
    await tabTo(page, `button:has-text('Widen to ${wider}')`);
    await page.keyboard.press("Enter");
    await page.getByRole("alertdialog").waitFor();
    await assertAccessible(page, "the widening confirmation");
    await tabTo(page, "[role='alertdialog'] button:has-text('Widen'):not(:has-text('to'))");
    await page.keyboard.press("Enter");
    await page.getByRole("alertdialog").waitFor({ state: "detached" });
    assert.match((await now.textContent()) ?? "", new RegExp(`${wider.replace(/\./g, "\\.")}.*1 of 1022 addresses in use, 1021 free`));
    // The page now offers the next wider block, with nothing stale selected.
    await page.getByRole("button", { name: `Widen to ${wider.replace(/\/22$/, "/21")}…` }).waitFor();
    await screenshot(page, "settings-subnet");
    // The page is a deep link the gateway serves: a reload shows the same.
    await page.reload();
    await page.getByText(`${wider}`).first().waitFor();
    // The server's view: wider, and the cluster kept its address.
    const subnet = (await (await page.request.get("/v1/subnet")).json()) as { subnet: { cidr: string } };
    assert.equal(subnet.subnet.cidr, wider);
    const again = (await (await page.request.get(`/v1/clusters/${cluster.id}`)).json()) as { cluster: { tunnelIp: string } };
    assert.equal(again.cluster.tunnelIp, tunnelIp);
    assertNoProblems(tab);
    await tab.context.close();
  });
});
