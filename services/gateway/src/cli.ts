/**
 * Gateway admin CLI (reads DATABASE_URL like the service):
 *   tsx services/gateway/src/cli.ts tenant create <id> [--name <name>]
 *   tsx services/gateway/src/cli.ts token create <tenant> <name> [--role admin|operator|viewer] [--kind user|assistant|agent]
 *   tsx services/gateway/src/cli.ts token revoke <token-id>
 * `token create` prints the token once; only its hash is stored.
 */
import { DaaluError } from "@daalu/runtime";
import { createApiToken, createTenant, openGatewayStore, revokeApiToken } from "./admin.js";
import { loadConfig } from "./config.js";
import type { CallerKindName, Role } from "./domain/api-token.js";
// createApiToken refuses a role outside ROLES (admin, operator, viewer).

const USAGE = `usage:
  cli.ts tenant create <id> [--name <name>]
  cli.ts token create <tenant> <name> [--role admin|operator|viewer] [--kind user|assistant|agent]
  cli.ts token revoke <token-id>`;

/** Splits argv into positionals and --flag values. */
export function parseArgs(argv: string[]): { pos: string[]; flags: Record<string, string> } {
  const pos: string[] = [];
  const flags: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      if (eq > 0) flags[a.slice(2, eq)] = a.slice(eq + 1);
      else flags[a.slice(2)] = argv[++i] ?? "";
    } else pos.push(a);
  }
  return { pos, flags };
}

async function main(argv: string[]): Promise<number> {
  const { pos, flags } = parseArgs(argv);
  const [area, verb, a, b] = pos;
  const known = (area === "tenant" && verb === "create" && a) || (area === "token" && verb === "create" && a && b) || (area === "token" && verb === "revoke" && a);
  if (!known) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const config = loadConfig(process.env);
  const store = await openGatewayStore(config.databaseUrl);
  try {
    if (area === "tenant") {
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
