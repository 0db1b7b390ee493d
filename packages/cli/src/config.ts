/**
 * Where `daalu` keeps its login: `$DAALU_CONFIG`, else
 * `$XDG_CONFIG_HOME/daalu/config.json` (default `~/.config/daalu/config.json`),
 * a JSON file of mode 0600 in a directory of mode 0700. `DAALU_HUB` and
 * `DAALU_TOKEN` override what the file says (CI, scripts).
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { CliError, EXIT } from "./exit.js";

export interface SavedConfig {
  hub?: string;
  token?: string;
  tenant?: string;
  username?: string;
  role?: string;
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env["DAALU_CONFIG"]) return env["DAALU_CONFIG"];
  const base = env["XDG_CONFIG_HOME"] || path.join(homedir(), ".config");
  return path.join(base, "daalu", "config.json");
}

export function readConfig(file = configPath()): SavedConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`, EXIT.error);
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (!v || typeof v !== "object" || Array.isArray(v)) throw new Error("not a JSON object");
    const o = v as Record<string, unknown>;
    const s = (k: string) => (typeof o[k] === "string" ? (o[k] as string) : undefined);
    return { hub: s("hub"), token: s("token"), tenant: s("tenant"), username: s("username"), role: s("role") };
  } catch (err) {
    throw new CliError(`${file} is not a valid daalu config (${(err as Error).message})`, EXIT.error, "fix or delete it, then run `daalu login`");
  }
}

/** Writes the config readable by its owner only (the token is a credential). */
export function writeConfig(c: SavedConfig, file = configPath()): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  const clean = Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined && v !== ""));
  writeFileSync(tmp, `${JSON.stringify(clean, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  try {
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** The hub and token in effect: environment over the file. */
export interface Effective extends SavedConfig {
  /** Where the token came from (for messages). */
  tokenFrom?: "env" | "file";
}

export function effectiveConfig(env: NodeJS.ProcessEnv = process.env): Effective {
  const saved = readConfig(configPath(env));
  const hub = env["DAALU_HUB"] || saved.hub;
  const token = env["DAALU_TOKEN"] || saved.token;
  return { ...saved, hub, token, ...(token ? { tokenFrom: env["DAALU_TOKEN"] ? "env" : "file" } : {}) };
}

/** A hub URL as given (scheme required, no trailing slash). */
export function normalizeHub(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new CliError(`"${raw}" is not a URL`, EXIT.usage, "give the hub as https://host[:port]");
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new CliError(`the hub URL must be http(s), got ${u.protocol}`, EXIT.usage);
  if (u.search || u.hash) throw new CliError("the hub URL takes no query or fragment", EXIT.usage);
  return `${u.origin}${u.pathname.replace(/\/+$/, "")}`;
}
