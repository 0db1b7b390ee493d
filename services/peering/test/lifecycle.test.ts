/** Start-up that fails half-way leaves nothing open behind it. */
import { test } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { setup } from "@daalu/testing";
import { startPeering } from "./harness.js";

test("a migration that fails at start-up closes the database pool it opened", async (t) => {
  const env = await setup();
  t.after(() => env.cleanup());
  const admin = new pg.Client({ connectionString: env.databaseUrl });
  await admin.connect();
  // A migration the code does not know: kysely refuses to migrate a history it cannot match.
  await admin.query(`create schema peering; create table peering.kysely_migration (name varchar(255) primary key, timestamp varchar(255) not null); insert into peering.kysely_migration values ('209901010000_from_the_future', now()::text)`);
  await assert.rejects(startPeering(env), /corrupted migrations|missing/);
  const r = await admin.query(`select count(*)::int as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`);
  await admin.end();
  assert.equal(r.rows[0].n, 0, "no session of the failed start-up is left");
});
