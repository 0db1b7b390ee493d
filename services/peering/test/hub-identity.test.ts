/**
 * The hub's WireGuard private key at rest: sealed with envelope encryption
 * under PEERING_KEY_ENCRYPTION_KEYS, plaintext rows from before sealed at
 * start, rotation re-wraps, a wrong key stops the start with a clear error.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { ConfigError, createLogger, sql } from "@daalu/runtime";
import { setup } from "@daalu/testing";
import { generateKeyPair, keyToHex, publicKeyOf } from "@daalu/wireguard";
import { loadConfig } from "../src/config.js";
import { start } from "../src/service.js";
import { peeringEnv, startPeering } from "./harness.js";

const kek = (id: string) => `${id}:${randomBytes(32).toString("base64")}`;

interface RawRow {
  private_key: string | null;
  public_key: string;
  kek_id: string | null;
  wrapped_dek: Buffer | null;
  private_key_sealed: Buffer | null;
}

test("the hub private key is stored sealed; plain rows are sealed at start; rotation re-wraps; a wrong key is a clear startup error", { timeout: 120_000 }, async (t) => {
  const env = await setup();
  t.after(() => env.cleanup());
  const a = kek("a");
  const b = kek("b");
  const lines: string[] = [];
  const log = createLogger("peering-test", "debug", new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }));
  const run = async (keys: string) => {
    const svc = await start(loadConfig(peeringEnv(env, { PEERING_KEY_ENCRYPTION_KEYS: keys })), log);
    try {
      const privateKey = await svc.store.hubPrivateKey();
      const row = (await sql<RawRow>`select private_key, public_key, kek_id, wrapped_dek, private_key_sealed from hub_identity`.execute(svc.db)).rows;
      return { privateKey, publicKey: svc.hub.publicKey, row: row[0]!, rows: row.length };
    } finally {
      await svc.stop();
    }
  };
  const leaks = (row: RawRow, privateKey: string) => {
    const raw = Buffer.from(privateKey, "base64");
    const text = JSON.stringify({ ...row, wrapped_dek: row.wrapped_dek?.toString("hex"), private_key_sealed: row.private_key_sealed?.toString("hex") });
    return text.includes(privateKey) || text.includes(keyToHex(privateKey)) || !!row.private_key_sealed?.includes(raw) || !!row.wrapped_dek?.includes(raw);
  };

  // First start: a new key pair, sealed under "a".
  const first = await run(a);
  assert.equal(first.rows, 1);
  assert.equal(first.row.private_key, null, "no plaintext column");
  assert.equal(first.row.kek_id, "a");
  assert.equal(leaks(first.row, first.privateKey), false, "the row holds no form of the private key");
  assert.equal(publicKeyOf(first.privateKey), first.row.public_key, "decrypts to the key of the stored public key");
  assert.equal(first.publicKey, first.row.public_key);

  // Restart: the same identity.
  const again = await run(a);
  assert.equal(again.privateKey, first.privateKey);
  assert.ok(again.row.private_key_sealed!.equals(first.row.private_key_sealed!), "an unchanged row is left alone");

  // Rotation: "b" first, "a" still listed → re-wrapped under "b"; afterwards "b" alone opens it.
  const rotated = await run(`${b},${a}`);
  assert.equal(rotated.privateKey, first.privateKey);
  assert.equal(rotated.row.kek_id, "b");
  assert.ok(!rotated.row.wrapped_dek!.equals(first.row.wrapped_dek!), "the data key is re-wrapped");
  assert.ok(rotated.row.private_key_sealed!.equals(first.row.private_key_sealed!), "the sealed key itself is unchanged");
  assert.equal((await run(b)).privateKey, first.privateKey);

  // The wrong key for an id, or a key ring without the row's id: start fails with a clear reason.
  const refused = (re: RegExp) => (e: Error & { reason?: string }) => e.reason === "HUB_KEY_UNREADABLE" && re.test(e.message);
  const startStop = async (keys: string) => (await startPeering(env, { PEERING_KEY_ENCRYPTION_KEYS: keys })).stop();
  await assert.rejects(startStop(kek("b")), refused(/key id "b" .* wrong key/));
  await assert.rejects(startStop(a), refused(/sealed with key id "b"/));

  // A plaintext row from before encryption is sealed by the next start.
  const old = generateKeyPair();
  const svc = await startPeering(env, { PEERING_KEY_ENCRYPTION_KEYS: b });
  try {
    await sql`update hub_identity set private_key = ${old.privateKey}, public_key = ${old.publicKey}, kek_id = null, wrapped_dek = null, private_key_sealed = null`.execute(svc.db);
  } finally {
    await svc.stop();
  }
  const sealed = await run(a);
  assert.equal(sealed.privateKey, old.privateKey);
  assert.equal(sealed.publicKey, old.publicKey);
  assert.equal(sealed.row.private_key, null);
  assert.equal(sealed.row.kek_id, "a");
  assert.equal(leaks(sealed.row, old.privateKey), false);

  for (const k of [first.privateKey, old.privateKey]) assert.ok(!lines.some((l) => l.includes(k) || l.includes(keyToHex(k))), "no log line holds a private key");
  assert.ok(!lines.some((l) => l.includes(a.slice(2)) || l.includes(b.slice(2))), "no log line holds a key-encryption key");
});

test("without key-encryption keys peering refuses to start unless the hub key comes from a file", () => {
  const env = { DATABASE_URL: "postgres://x@127.0.0.1/x", NATS_URL: "nats://127.0.0.1:4222" };
  assert.throws(() => loadConfig(env), (e: Error) => e instanceof ConfigError && /PEERING_KEY_ENCRYPTION_KEYS is required/.test(e.message));
  assert.throws(() => loadConfig({ ...env, PEERING_KEY_ENCRYPTION_KEYS: "a:short" }), (e: Error) => e instanceof ConfigError && /key "a" must be standard base64 of exactly 32 bytes/.test(e.message));
  assert.equal(loadConfig({ ...env, PEERING_HUB_PRIVATE_KEY_FILE: "/dev/null" }).keyRing, undefined);
  assert.deepEqual(loadConfig({ ...env, PEERING_KEY_ENCRYPTION_KEYS: `${kek("x")},${kek("y")}` }).keyRing!.ids, ["x", "y"]);
});
