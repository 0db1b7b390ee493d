/**
 * Gateway admin CLI (reads DATABASE_URL like the service):
 *   tsx services/gateway/src/cli.ts tenant create <id> [--name <name>]
 *   tsx services/gateway/src/cli.ts token create <tenant> <name> [--role admin|operator|viewer] [--kind user|assistant|agent]
 *   tsx services/gateway/src/cli.ts token revoke <token-id>
 *   tsx services/gateway/src/cli.ts user add --tenant <t> --username <u> --role admin|operator|viewer [--display-name <n>] [--password-stdin]
 *   tsx services/gateway/src/cli.ts user disable --tenant <t> --username <u>
 * `token create` prints the token once; only its hash is stored. `user add`
 * reads the password from stdin with --password-stdin, else generates one and
 * prints it once; only its scrypt hash is stored.
 */
import { DaaluError } from "@daalu/runtime";
import { createApiToken, createTenant, createUser, disableUser, openGatewayStore, revokeApiToken } from "./admin.js";
import { loadConfig } from "./config.js";
import type { CallerKindName, Role } from "./domain/api-token.js";
// createApiToken refuses a role outside ROLES (admin, operator, viewer).

const USAGE = `usage:
  cli.ts tenant create <id> [--name <name>]
  cli.ts token create <tenant> <name> [--role admin|operator|viewer] [--kind user|assistant|agent]
  cli.ts token revoke <token-id>
  cli.ts user add --tenant <tenant> --username <username> --role admin|operator|viewer [--display-name <name>] [--password-stdin]
  cli.ts user disable --tenant <tenant> --username <username>`;

/** Flags that take no value. */
const SWITCHES = new Set(["password-stdin"]);

/** Splits argv into positionals and --flag values. */
export function parseArgs(argv: string[]): { pos: string[]; flags: Record<string, string> } {
  const pos: string[] = [];
  const flags: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      if (eq > 0) flags[a.slice(2, eq)] = a.slice(eq + 1);
      else if (SWITCHES.has(a.slice(2))) flags[a.slice(2)] = "true";
      else flags[a.slice(2)] = argv[++i] ?? "";
    } else pos.push(a);
  }
  return { pos, flags };
}

/** The password from stdin: its first line, without the line break. */
async function readPassword(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8").split(/\r?\n/)[0] ?? "";
}

async function main(argv: string[]): Promise<number> {
  const { pos, flags } = parseArgs(argv);
  const [area, verb, a, b] = pos;
  const known =
    (area === "tenant" && verb === "create" && a) ||
    (area === "token" && verb === "create" && a && b) ||
    (area === "token" && verb === "revoke" && a) ||
    (area === "user" && verb === "add" && flags["tenant"] && flags["username"] && flags["role"]) ||
    (area === "user" && verb === "disable" && flags["tenant"] && flags["username"]);
  if (!known) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const config = loadConfig(process.env);
  const store = await openGatewayStore(config.databaseUrl);
  try {
    if (area === "user" && verb === "disable") {
      await disableUser(store, flags["tenant"]!, flags["username"]!);
      process.stdout.write(`user ${flags["username"]} of tenant ${flags["tenant"]} disabled; its sessions and its CLI-login tokens are ended\n`);
    } else if (area === "user") {
      const password = "password-stdin" in flags ? await readPassword() : undefined;
      const u = await createUser(store, flags["tenant"]!, flags["username"]!, { role: flags["role"] as Role, ...(password !== undefined ? { password } : {}), ...(flags["display-name"] ? { displayName: flags["display-name"] } : {}) });
      process.stderr.write(`user ${u.user.username} (${u.user.role}) added to tenant ${u.user.tenantId}\n`);
      if (u.generatedPassword) {
        process.stderr.write("its password is shown only now:\n");
        process.stdout.write(`${u.generatedPassword}\n`);
      }
    } else if (area === "tenant") {
      const t = await createTenant(store, a!, flags["name"]);
      process.stdout.write(`tenant ${t.id} created\n`);
    } else if (verb === "create") {
      const t = await createApiToken(store, a!, b!, { role: (flags["role"] ?? "admin") as Role, kind: (flags["kind"] ?? "user") as CallerKindName });
      process.stderr.write(`token ${t.id} (${t.role}, ${t.kind}) for tenant ${t.tenantId}; it is shown only now:\n`);
      process.stdout.write(`${t.token}\n`);
    } else {
      await revokeApiToken(store, a!);
      process.stdout.write(`token ${a} revoked\n`);
    }
    return 0;
  } catch (err) {
    process.stderr.write(`error: ${err instanceof DaaluError ? `${err.reason}: ${err.message}` : (err as Error).message}\n`);
    return 1;
  } finally {
    await store.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv.slice(2));
}
