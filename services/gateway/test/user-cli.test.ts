import { test } from "node:test";
import assert from "node:assert/strict";
import { setup } from "@daalu/testing";
import { openGatewayStore } from "../src/admin.js";
import { verifyPassword } from "../src/domain/password.js";
import { cli } from "./admin-cli.js";
import { seedTenant } from "./helpers.js";

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
