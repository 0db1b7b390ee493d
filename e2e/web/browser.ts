/**
 * Debian's chromium driven by playwright-core for the browser tests: every page
 * is watched for Content-Security-Policy violations and uncaught errors (a test
 * fails on any), axe-core checks each page for serious or critical
 * accessibility violations, and screenshots go to test-results/screenshots/.
 */
import { accessSync, constants, mkdirSync } from "node:fs";
import path from "node:path";
import assert from "node:assert/strict";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { AxeBuilder } from "@axe-core/playwright";
import { ROOT } from "../netns.js";

export const CHROMIUM = process.env.DAALU_CHROMIUM ?? "/usr/bin/chromium";
export const SCREENSHOTS = path.join(ROOT, "test-results", "screenshots");

/** Why the browser tests cannot run here, or undefined. */
export function browserSkipReason(): string | undefined {
  try {
    accessSync(CHROMIUM, constants.X_OK);
  } catch {
    return `no chromium at ${CHROMIUM} (scripts/ensure-chromium.sh installs Debian's; set DAALU_CHROMIUM to use another)`;
  }
  try {
    accessSync(path.join(ROOT, "web", "dist", "index.html"), constants.R_OK);
  } catch {
    return "the web app is not built (npm run build -w web)";
  }
  return undefined;
}

export async function launchBrowser(): Promise<Browser> {
  // Root (CI's container) cannot use chromium's sandbox.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"] });
}

export interface Tab {
  context: BrowserContext;
  page: Page;
  /** CSP violations and uncaught page errors seen so far. */
  problems: string[];
}

/** A fresh browser profile (its own cookies) with one page on `baseURL`. */
export async function openTab(browser: Browser, baseURL: string): Promise<Tab> {
  const context = await browser.newContext({ baseURL, viewport: { width: 1400, height: 900 } });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: baseURL });
  const problems: string[] = [];
  await context.exposeFunction("__daaluProblem", (what: string) => problems.push(what));
  // A string: the root tsconfig has no DOM types (this runs in the page, before the app).
  await context.addInitScript(`document.addEventListener("securitypolicyviolation", (e) => {
    void window.__daaluProblem("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " (" + e.sourceFile + ":" + e.lineNumber + ") " + e.sample);
  });`);
  const page = await context.newPage();
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  return { context, page, problems };
}

export function assertNoProblems(tab: Tab): void {
  assert.deepEqual(tab.problems, [], "the page had CSP violations or uncaught errors");
}

/** axe-core on the page as it is: no serious or critical violation. */
export async function assertAccessible(page: Page, what: string): Promise<void> {
  const res = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]).analyze();
  const bad = res.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(
    bad.map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).slice(0, 5).join(", ")}`),
    [],
    `axe on ${what}`,
  );
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  return file;
}

/** Presses Tab until the focused element matches `selector` (keyboard-only navigation); fails after `max` presses. */
export async function tabTo(page: Page, selector: string, max = 60): Promise<void> {
  for (let i = 0; i < max; i++) {
    if ((await page.locator(`${selector}:focus`).count()) > 0) return;
    await page.keyboard.press("Tab");
  }
  const at = await page.evaluate<string | undefined>("document.activeElement?.outerHTML.slice(0, 200)");
  assert.fail(`${selector} not reached with ${max} Tab presses (focus on ${at})`);
}

/** Signs in through the sign-in page by keyboard (the app sends /clusters to /signin first). */
export async function signInAs(page: Page, tenant: string, username: string, password: string): Promise<void> {
  await page.goto("/clusters");
  await page.waitForURL(/\/signin\?returnTo=%2Fclusters$/);
  await page.getByRole("heading", { name: "Sign in to Daalu Federation" }).waitFor();
  await tabTo(page, "input[name=tenant]");
  await page.keyboard.type(tenant);
  await page.keyboard.press("Tab");
  await page.keyboard.type(username);
  await page.keyboard.press("Tab");
  await page.keyboard.type(password);
  await page.keyboard.press("Enter");
  await page.waitForURL(/\/clusters$/);
  await page.getByRole("heading", { name: "Clusters", exact: true }).waitFor();
}
