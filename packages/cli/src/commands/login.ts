/** `daalu login`, `daalu logout`, `daalu whoami`. */
import { configPath, effectiveConfig, normalizeHub, readConfig, writeConfig } from "../config.js";
import { CliError, EXIT } from "../exit.js";
import { Hub } from "../hub.js";
import { printData, printFields, type Format } from "../render.js";
import { parseDuration } from "../time.js";

export interface LoginOptions {
  hub?: string;
  token?: string;
  tenant?: string;
  browser: boolean;
  timeout: string;
}

async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of process.stdin) parts.push(c as Buffer);
  return Buffer.concat(parts).toString("utf8").trim();
}

const say = (line: string) => process.stderr.write(`${line}\n`);

export async function login(o: LoginOptions): Promise<void> {
  const saved = readConfig();
  const rawHub = o.hub ?? process.env["DAALU_HUB"] ?? saved.hub;
  if (!rawHub) throw new CliError("which hub?", EXIT.usage, "run `daalu login --hub https://your-hub`");
  const hubUrl = normalizeHub(rawHub);
  const file = configPath();
  if (o.token === undefined) {
    // No token: the browser flow.
    const { browserLogin } = await import("../browser-login.js");
    const got = await browserLogin(new Hub(hubUrl, undefined), { openBrowser: o.browser, timeoutMs: parseDuration("--timeout", o.timeout), say });
    writeConfig({ hub: hubUrl, token: got.token, tenant: got.tenantId, username: got.username, role: got.role }, file);
    say(`Logged in to ${hubUrl} as ${got.username} (${got.role}, tenant ${got.tenantId}); saved to ${file}.`);
    return;
  }
  let token = o.token;
  if (token === "-") token = await readStdin();
  else if (token === "") {
    if (!process.stdin.isTTY) throw new CliError("no token given and no terminal to ask on", EXIT.usage, "pass `--token TOKEN` or `--token -` (read from stdin)");
    const { read } = await import("read");
    token = (await read({ prompt: "API token: ", silent: true, replace: "*", output: process.stderr })).trim();
  }
  if (!token) throw new CliError("the token is empty", EXIT.usage);
  // Verify before saving: any role may list clusters.
  await new Hub(hubUrl, token).json("GET", "/v1/clusters");
  writeConfig({ hub: hubUrl, token, ...(o.tenant ? { tenant: o.tenant } : {}) }, file);
  say(`Logged in to ${hubUrl}; saved to ${file}.`);
}

export function logout(): void {
  const file = configPath();
  const saved = readConfig(file);
  if (!saved.token) {
    say("Not logged in.");
    return;
  }
  // The hub stays, so the next `daalu login` needs no --hub.
  writeConfig({ hub: saved.hub }, file);
  say(`Logged out of ${saved.hub ?? "the hub"}: the token is removed from ${file}. It stays valid on the hub until an admin revokes it.`);
}

export async function whoami(o: { output: Format }): Promise<void> {
  const c = effectiveConfig();
  const hub = Hub.fromConfig();
  // The hub says who the token is (and proves it still works: 401 → exit 4); the role is the hub's, now.
  const who = await hub.json<{ tenantId?: string; role?: string }>("GET", "/v1/whoami");
  const me = { hub: hub.url, tenant: who.tenantId ?? c.tenant ?? null, username: c.username ?? null, role: who.role ?? c.role ?? null, tokenFrom: c.tokenFrom ?? null };
  if (await printData(o.output, me)) return;
  printFields([
    ["Hub", me.hub],
    ["Tenant", me.tenant ?? "(unknown)"],
    ["User", me.username ?? "(API token)"],
    ["Role", me.role ?? "(unknown)"],
    ["Token from", me.tokenFrom === "env" ? "DAALU_TOKEN" : configPath()],
  ]);
}
