import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { setup } from "@daalu/testing";
import { openGatewayStore } from "../src/admin.js";
import { verifyPassword } from "../src/domain/password.js";
import { seedTenant } from "./helpers.js";

const CLI = fileURLToPath(new URL("../src/cli.ts", import.meta.url));

/** Runs the admin CLI as an operator would, with `stdin` piped in. */
function cli(env: Record<string, string>, args: string[], stdin = ""): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ["--import", "tsx", CLI, ...args], { env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    p.on("error", reject);
    p.on("close", (code) => resolve({ code, stdout, stderr }));
    p.stdin.end(stdin);
  });
}

test("cli.ts user add and disable: a generated password printed once, or one read from stdin; only hashes stored", async (t) => {
  const env = await setup();
  t.after(() => env.cleanup());
  await seedTenant(env, "acme");
  const gen = await cli(env.env, ["user", "add", "--tenant", "acme", "--username", "Carol", "--role", "operator"]);
  assert.equal(gen.code, 0, gen.stderr);
  const generated = gen.stdout.trim();
  assert.match(generated, /^[A-Za-z0-9_-]{24}$/);
  assert.match(gen.stderr, /user carol \(operator\) added to tenant acme/);
  const chosen = "a long chosen passphrase";
  const fromStdin = await cli(env.env, ["user", "add", "--password-stdin", "--tenant", "acme", "--username", "dave", "--role", "viewer"], `${chosen}\n`);
  assert.equal(fromStdin.code, 0, fromStdin.stderr);
  assert.equal(fromStdin.stdout, "");
  const dup = await cli(env.env, ["user", "add", "--tenant", "acme", "--username", "dave", "--role", "viewer"]);
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /USERNAME_TAKEN/);
  assert.equal((await cli(env.env, ["user", "add", "--tenant", "acme"])).code, 2);
  const disabled = await cli(env.env, ["user", "disable", "--tenant", "acme", "--username", "dave"]);
  assert.equal(disabled.code, 0, disabled.stderr);
  const missing = await cli(env.env, ["user", "disable", "--tenant", "acme", "--username", "zed"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /USER_NOT_FOUND/);

  const store = await openGatewayStore(env.databaseUrl);
  t.after(() => store.close());
  const rows = await store.db.selectFrom("users").select(["username", "role", "password_hash", "disabled_at"]).orderBy("username").execute();
  assert.deepEqual(rows.map((r) => [r.username, r.role, r.disabled_at !== null]), [["carol", "operator", false], ["dave", "viewer", true]]);
  assert.equal(await verifyPassword(generated, rows[0]!.password_hash), true);
  assert.equal(await verifyPassword(chosen, rows[1]!.password_hash), true);
  assert.equal(await verifyPassword(generated, rows[1]!.password_hash), false);
});
